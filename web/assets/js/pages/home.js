// Home: placeholder until the voucher table lands.
import {el} from '../dom.js';

export async function render(main, ctx) {
  main.append(el('h1', {text: 'Requests and vouchers'}), el('p', {text: `Signed in as ${ctx.profile.name}.`}));
}
