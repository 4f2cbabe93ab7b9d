/* Validates a voucher JSON document (RFC 8366 section 5.3 encoding, e.g. the content of a
 * signed voucher) against ietf-voucher's yang-data "voucher-artifact" and every module
 * that augments it, with libyang. yanglint cannot: its data mode knows only the datastore,
 * RPCs and notifications, not instances of yang-data (RFC 8040) or structure (RFC 8791).
 *
 *   voucher_yang_check SEARCH_DIR VOUCHER.json MODULE...
 *
 * Loads ietf-voucher and each MODULE (by name) from SEARCH_DIR, parses VOUCHER.json strictly
 * (an unknown member is an error) and validates it. Exits 0 when valid; otherwise prints
 * libyang's message and exits 1 (2 on a usage or set-up error). */
#include <stdio.h>
#include <string.h>

#include <libyang/libyang.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s SEARCH_DIR VOUCHER.json [MODULE...]\n", argv[0]);
    return 2;
  }
  struct ly_ctx* ctx = NULL;
  if (ly_ctx_new(argv[1], LY_CTX_DISABLE_SEARCHDIR_CWD, &ctx) != LY_SUCCESS) {
    fprintf(stderr, "cannot create a libyang context\n");
    return 2;
  }
  const struct lys_module* voucher = ly_ctx_load_module(ctx, "ietf-voucher", NULL, NULL);
  if (voucher == NULL) {
    fprintf(stderr, "cannot load ietf-voucher: %s\n", ly_errmsg(ctx));
    return 2;
  }
  for (int i = 3; i < argc; ++i) {
    if (ly_ctx_load_module(ctx, argv[i], NULL, NULL) == NULL) {
      fprintf(stderr, "cannot load %s: %s\n", argv[i], ly_errmsg(ctx));
      return 2;
    }
  }
  const struct lysc_ext_instance* artifact = NULL;
  LY_ARRAY_COUNT_TYPE u;
  LY_ARRAY_FOR(voucher->compiled->exts, u) {
    const struct lysc_ext_instance* e = &voucher->compiled->exts[u];
    if (e->argument != NULL && strcmp(e->argument, "voucher-artifact") == 0) artifact = e;
  }
  if (artifact == NULL) {
    fprintf(stderr, "ietf-voucher has no voucher-artifact yang-data or structure\n");
    return 2;
  }
  struct ly_in* in = NULL;
  if (ly_in_new_filepath(argv[2], 0, &in) != LY_SUCCESS) {
    fprintf(stderr, "cannot read %s\n", argv[2]);
    return 2;
  }
  struct lyd_node* tree = NULL;
  LY_ERR err = lyd_parse_ext_data(artifact, NULL, in, LYD_JSON, LYD_PARSE_STRICT,
                                  LYD_VALIDATE_PRESENT, &tree);
  int rc = 0;
  if (err != LY_SUCCESS) {
    fprintf(stderr, "%s: not a valid voucher: %s (%s)\n", argv[2], ly_errmsg(ctx),
            ly_errpath(ctx) ? ly_errpath(ctx) : "");
    rc = 1;
  } else {
    printf("%s: valid ietf-voucher voucher-artifact\n", argv[2]);
  }
  lyd_free_all(tree);
  ly_in_free(in, 0);
  ly_ctx_destroy(ctx);
  return rc;
}
