// Admin: the organization's users and service accounts (invite, create, disable, a service
// account's tokens), their roles on groups with the request/download/archive grants, and
// the group tree. The service decides every call; this page only shows what it answers.
import {
  el, field, select, setOptions, section, dataTable, time, statusLine, busy, confirmAction, badge,
  showSecretOnce, pageFrame, idCell, uid,
} from './parts.js';

const CUSTOMER_ROLES = ['viewer', 'requestor', 'assigner', 'admin'];
const VENDOR_ROLES = ['support', 'account-team', 'security-officer'];
const GRANTS = ['request', 'download', 'archive'];

// The groups as a tree: children by parent id, roots first (parent null or not visible).
function groupTree(groups) {
  const byId = new Map(groups.map((g) => [g.group_id, g]));
  const children = new Map();
  const roots = [];
  for (const g of groups) {
    if (g.parent_id && byId.has(g.parent_id)) {
      if (!children.has(g.parent_id)) children.set(g.parent_id, []);
      children.get(g.parent_id).push(g);
    } else {
      roots.push(g);
    }
  }
  const byName = (a, b) => a.name.localeCompare(b.name);
  roots.sort(byName);
  for (const list of children.values()) list.sort(byName);
  return {byId, children, roots};
}

// "example / Lab / Bench": the group's path from its root, for selects and tables.
function groupPath(tree, group) {
  const names = [];
  for (let g = group; g; g = g.parent_id ? tree.byId.get(g.parent_id) : null) names.unshift(g.name);
  return names.join(' / ');
}

export async function render(main, ctx) {
  const {api, profile} = ctx;
  pageFrame(main, 'Administration',
    'Users and service accounts of your organization, their roles on groups, and the group tree.');
  const roles = profile && profile.vendor ? [...CUSTOMER_ROLES, ...VENDOR_ROLES] : CUSTOMER_ROLES;
  const state = {principals: [], bindings: [], groups: [], tree: groupTree([])};
  const pageStatus = statusLine('admin-status');
  main.append(pageStatus.node);

  // --- Users and service accounts -------------------------------------------------------
  const userStatus = statusLine('user-status');
  const username = el('input', {type: 'email', name: 'username', required: true, autocomplete: 'off', 'data-testid': 'invite-username'});
  const invite = el('button', {type: 'submit', class: 'primary', 'data-testid': 'invite-user'}, 'Invite user');
  const usernameField = field('E-mail of the person', username, 'They sign in with single sign-on using this e-mail.');
  const inviteForm = el('form', {class: 'inline-form', 'aria-label': 'Invite a user'},
    usernameField,
    el('div', {class: 'form-actions'}, invite));
  const accountName = el('input', {type: 'text', name: 'name', required: true, autocomplete: 'off', 'data-testid': 'account-name'});
  const createAccount = el('button', {type: 'submit', class: 'primary', 'data-testid': 'create-service-account'}, 'Create service account');
  const accountField = field('Service account name', accountName, 'A machine, e.g. "ztp-server"; it uses API tokens.');
  const accountForm = el('form', {class: 'inline-form', 'aria-label': 'Create a service account'},
    accountField,
    el('div', {class: 'form-actions'}, createAccount));
  const principalList = el('div', {'data-testid': 'principal-list'});

  inviteForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(invite, userStatus, async () => {
      const {principal} = await api('POST', '/users', {username: username.value.trim()});
      inviteForm.reset();
      userStatus.message(`${principal.name} invited; give them a role below.`);
      await load();
      bindPrincipal.value = principal.principal_id;
    }, {username: usernameField});
  });
  accountForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(createAccount, userStatus, async () => {
      const {principal} = await api('POST', '/service-accounts', {name: accountName.value.trim()});
      accountForm.reset();
      userStatus.message(`Service account ${principal.name} created; give it a role below, then a token.`);
      await load();
      bindPrincipal.value = principal.principal_id;
    }, {name: accountField});
  });

  function rolesOf(principalId) {
    return state.bindings.filter((b) => b.principal_id === principalId).map((b) => {
      const g = state.tree.byId.get(b.group_id);
      return `${b.role} on ${g ? g.name : b.group_id}`;
    }).join('; ');
  }

  function renderPrincipals() {
    const rows = state.principals.map((p) => {
      const actions = el('div', {class: 'row-actions'});
      if (!p.disabled && p.kind === 'service-account') {
        actions.append(el('button', {
          type: 'button', 'data-testid': `token-for-${p.name}`, 'aria-label': `New API token for ${p.name}`,
          onclick: (e) => busy(e.target, userStatus, async () => {
            const {token} = await api('POST', '/tokens', {principal_id: p.principal_id, description: `${p.name} (made by ${profile ? profile.name : 'an admin'})`});
            userStatus.message(`Token ${token.token_id} made for ${p.name}.`);
            await showSecretOnce(`API token for ${p.name}`, {...token, principal_name: p.name});
          }),
        }, 'New token'));
      }
      if (!p.disabled && !(profile && p.principal_id === profile.principal_id)) {
        actions.append(el('button', {
          type: 'button', class: 'danger-outline', 'data-testid': `disable-${p.name}`, 'aria-label': `Disable ${p.name}`,
          onclick: async (e) => {
            if (!(await confirmAction(`Disable ${p.name}? Their sessions and API tokens stop working at once; this cannot be undone here.`, 'Disable'))) return;
            await busy(e.target, userStatus, async () => {
              await api('POST', `/principals/${encodeURIComponent(p.principal_id)}/disable`);
              userStatus.message(`${p.name} disabled.`);
              await load();
            });
          },
        }, 'Disable'));
      }
      return {
        testid: `principal-${p.name}`,
        cells: [p.name, p.kind === 'user' ? 'user' : 'service account',
          p.disabled ? badge('disabled', 'archived') : badge('active', 'ok'),
          rolesOf(p.principal_id) || 'no role', time(p.created_at), actions],
      };
    });
    principalList.replaceChildren(dataTable('Users and service accounts',
      ['Name', 'Kind', 'State', 'Roles', 'Created', 'Actions'], rows, {testid: 'principals-table'}));
  }

  // --- Roles and grants -----------------------------------------------------------------
  const bindStatus = statusLine('binding-status');
  const bindPrincipal = select([], {name: 'principal_id', required: true, 'data-testid': 'binding-principal'});
  const bindGroup = select([], {name: 'group_id', required: true, 'data-testid': 'binding-group'});
  const bindRole = select(roles, {name: 'role', 'data-testid': 'binding-role'});
  const grantBoxes = GRANTS.map((g) => {
    const box = el('input', {type: 'checkbox', name: 'grant', value: g, id: uid('grant'), 'data-testid': `binding-grant-${g}`});
    return {grant: g, box, node: el('span', {class: 'check'}, box, el('label', {for: box.id}, g))};
  });
  const bind = el('button', {type: 'submit', class: 'primary', 'data-testid': 'create-binding'}, 'Give role');
  const bindFields = {
    principal_id: field('Who', bindPrincipal), group_id: field('Group (and its subgroups)', bindGroup), role: field('Role', bindRole),
  };
  const bindForm = el('form', {class: 'inline-form', 'aria-label': 'Give a role'},
    bindFields.principal_id, bindFields.group_id, bindFields.role,
    el('fieldset', {class: 'grants'}, el('legend', {}, 'Extra grants'), grantBoxes.map((g) => g.node)),
    el('div', {class: 'form-actions'}, bind));
  const bindingList = el('div', {'data-testid': 'binding-list'});

  bindForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(bind, bindStatus, async () => {
      const {binding} = await api('POST', '/bindings', {
        principal_id: bindPrincipal.value, group_id: bindGroup.value, role: bindRole.value,
      });
      for (const g of grantBoxes.filter((x) => x.box.checked)) {
        await api('POST', `/bindings/${encodeURIComponent(binding.binding_id)}/grants`, {grant: g.grant});
      }
      grantBoxes.forEach((g) => {g.box.checked = false;});
      bindStatus.message('Role given.');
      await load();
    }, bindFields);
  });

  function principalName(id) {
    const p = state.principals.find((x) => x.principal_id === id);
    return p ? p.name : id;
  }

  function renderBindings() {
    const rows = state.bindings.map((b) => {
      const who = principalName(b.principal_id);
      const group = state.tree.byId.get(b.group_id);
      const grants = el('ul', {class: 'chips', 'aria-label': `Grants of ${who}`},
        b.grants.map((g) => el('li', {}, g, el('button', {
          type: 'button', class: 'chip-remove', 'data-testid': `remove-grant-${b.binding_id}-${g}`,
          'aria-label': `Remove grant ${g} from ${who}`,
          onclick: (e) => busy(e.target, bindStatus, async () => {
            await api('DELETE', `/bindings/${encodeURIComponent(b.binding_id)}/grants/${g}`);
            bindStatus.message(`Grant ${g} removed from ${who}.`);
            await load();
          }),
        }, '×'))));
      const missing = GRANTS.filter((g) => !b.grants.includes(g));
      const addSelect = select(missing, {'aria-label': `Grant to add to ${who}`, 'data-testid': `grant-select-${b.binding_id}`});
      const add = missing.length === 0 ? '' : el('span', {class: 'row-actions'}, addSelect, el('button', {
        type: 'button', 'data-testid': `add-grant-${b.binding_id}`,
        onclick: (e) => busy(e.target, bindStatus, async () => {
          await api('POST', `/bindings/${encodeURIComponent(b.binding_id)}/grants`, {grant: addSelect.value});
          bindStatus.message(`Grant ${addSelect.value} added to ${who}.`);
          await load();
        }),
      }, 'Add grant'));
      const remove = el('button', {
        type: 'button', class: 'danger-outline', 'data-testid': `delete-binding-${b.binding_id}`,
        'aria-label': `Remove the role ${b.role} of ${who}`,
        onclick: async (e) => {
          if (!(await confirmAction(`Remove the role ${b.role} of ${who} on ${group ? group.name : b.group_id}?`, 'Remove role'))) return;
          await busy(e.target, bindStatus, async () => {
            await api('DELETE', `/bindings/${encodeURIComponent(b.binding_id)}`);
            bindStatus.message(`Role of ${who} removed.`);
            await load();
          });
        },
      }, 'Remove role');
      return {
        testid: `binding-${who}-${b.role}`,
        cells: [who, group ? groupPath(state.tree, group) : b.group_id, b.role, grants, add, remove],
      };
    });
    bindingList.replaceChildren(dataTable('Roles', ['Who', 'Group', 'Role', 'Grants', 'Add a grant', 'Actions'], rows,
      {testid: 'bindings-table', empty: 'No roles.'}));
  }

  // --- Groups ---------------------------------------------------------------------------
  const groupStatus = statusLine('group-status');
  const parent = select([], {name: 'parent_id', required: true, 'data-testid': 'group-parent'});
  const groupName = el('input', {type: 'text', name: 'name', maxlength: '256', required: true, autocomplete: 'off', 'data-testid': 'group-name'});
  const createGroup = el('button', {type: 'submit', class: 'primary', 'data-testid': 'create-group'}, 'Create group');
  const groupFields = {parent_id: field('Parent group', parent), name: field('Name', groupName)};
  const groupForm = el('form', {class: 'inline-form', 'aria-label': 'Create a group'},
    groupFields.parent_id, groupFields.name, el('div', {class: 'form-actions'}, createGroup));
  const treeNode = el('div', {'data-testid': 'group-tree'});

  groupForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(createGroup, groupStatus, async () => {
      const {group} = await api('POST', '/groups', {parent_id: parent.value, name: groupName.value.trim()});
      groupName.value = '';
      groupStatus.message(`Group ${group.name} created.`);
      await load();
    }, groupFields);
  });

  function renderGroup(g) {
    const kids = state.tree.children.get(g.group_id) || [];
    const buttons = el('span', {class: 'row-actions'},
      el('button', {
        type: 'button', 'data-testid': `add-child-${g.group_id}`, 'aria-label': `Add a group under ${g.name}`,
        onclick: () => {parent.value = g.group_id; groupName.focus();},
      }, 'Add child group'),
      g.parent_id ? el('button', {
        type: 'button', class: 'danger-outline', 'data-testid': `delete-group-${g.group_id}`, 'aria-label': `Delete group ${g.name}`,
        onclick: async (e) => {
          if (!(await confirmAction(`Delete the group ${g.name}? It must be empty: no subgroups, serials, certificates or roles.`, 'Delete group'))) return;
          await busy(e.target, groupStatus, async () => {
            await api('DELETE', `/groups/${encodeURIComponent(g.group_id)}`);
            groupStatus.message(`Group ${g.name} deleted.`);
            await load();
          });
        },
      }, 'Delete') : null);
    return el('li', {'data-testid': `group-${g.name}`},
      el('span', {class: 'group-name'}, g.name), ' ', idCell(g.group_id), ' ', buttons,
      kids.length ? el('ul', {}, kids.map(renderGroup)) : null);
  }

  function renderGroups() {
    treeNode.replaceChildren(el('ul', {class: 'tree', 'aria-label': 'Groups'}, state.tree.roots.map(renderGroup)));
    const options = [];
    const walk = (g) => {
      options.push([g.group_id, groupPath(state.tree, g)]);
      (state.tree.children.get(g.group_id) || []).forEach(walk);
    };
    state.tree.roots.forEach(walk);
    setOptions(parent, options);
    setOptions(bindGroup, options);
    setOptions(bindPrincipal, state.principals.filter((p) => !p.disabled)
      .map((p) => [p.principal_id, `${p.name} (${p.kind === 'user' ? 'user' : 'service account'})`]));
  }

  // Each list on its own: an admin of a subgroup (not of the root group) may list the
  // bindings and groups below it but not the organization's principals; what the service
  // refuses is said under its section, and the rest of the page still works.
  async function load() {
    const [principals, bindings, groups] = await Promise.allSettled([
      api('GET', '/principals'), api('GET', '/bindings'), api('GET', '/groups'),
    ]);
    state.principals = principals.status === 'fulfilled'
      ? principals.value.principals.sort((a, b) => a.name.localeCompare(b.name)) : [];
    state.bindings = bindings.status === 'fulfilled' ? bindings.value.bindings : [];
    state.groups = groups.status === 'fulfilled' ? groups.value.groups : [];
    state.tree = groupTree(state.groups);
    renderGroups();
    renderPrincipals();
    renderBindings();
    for (const [result, status] of [[principals, userStatus], [bindings, bindStatus], [groups, groupStatus]]) {
      if (result.status === 'rejected') {
        if (result.reason && result.reason.status === 401) throw result.reason;
        status.error(result.reason);
      }
    }
  }

  main.append(
    section('Users and service accounts', 'users-section', inviteForm, accountForm, userStatus.node, principalList),
    section('Roles and grants', 'roles-section',
      el('p', {}, 'A role on a group covers its subgroups. Grants add one permission (request, download, archive) to a role.'),
      bindForm, bindStatus.node, bindingList),
    section('Groups', 'groups-section', groupForm, groupStatus.node, treeNode));
  try {
    await load();
  } catch (err) {
    pageStatus.error(err);
  }
}
