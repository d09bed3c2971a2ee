/*
 * A milter that does nothing, on Sendmail's C libmilter: the reference for
 * what the milter protocol itself costs Postfix, beside examples/null_milter
 * (the same on indymilter). It negotiates what schoolgate negotiates
 * (src/milter.rs, request_stages): no connect, HELO, DATA, end-of-header or
 * unknown events, no replies to MAIL, RCPT, headers and body, and only the
 * macros schoolgate reads; it answers continue.
 *
 *   apt-get install -y libmilter-dev
 *   gcc -O2 -o /tmp/libmilter_null benches/libmilter_null.c -lmilter -lpthread
 *   SCHOOLGATE_LOAD_COMPARE=/tmp/libmilter_null SCHOOLGATE_LOAD_FLOOR=1 ... \
 *       python3 benches/postfix_load.py 2000 4
 *
 * Run as the load test runs a schoolgate build (`--config FILE serve`), it
 * listens where FILE's last `listen = "..."` line says; or give the socket
 * (`unix:PATH`, `inet:PORT@HOST`) as the only argument.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>

static sfsistat negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long unused2,
                          unsigned long unused3, unsigned long *want_actions, unsigned long *want_steps,
                          unsigned long *want2, unsigned long *want3) {
    unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NOUNKNOWN;
    unsigned long quiet = SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_BODY;
    (void) actions, (void) unused2, (void) unused3;
    *want_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_SETSYMLIST;
    *want_steps = SMFIP_HDR_LEADSPC | (steps & (skip | quiet));
    *want2 = 0;
    *want3 = 0;
    smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "");
    smfi_setsymlist(ctx, SMFIM_EOM, "i");
    return SMFIS_CONTINUE;
}

static sfsistat on_envelope(SMFICTX *ctx, char **args) { (void) ctx, (void) args; return SMFIS_NOREPLY; }
static sfsistat on_header(SMFICTX *ctx, char *name, char *value) { (void) ctx, (void) name, (void) value; return SMFIS_NOREPLY; }
static sfsistat on_body(SMFICTX *ctx, unsigned char *chunk, size_t len) { (void) ctx, (void) chunk, (void) len; return SMFIS_NOREPLY; }
static sfsistat on_eom(SMFICTX *ctx) { (void) ctx; return SMFIS_CONTINUE; }

/* The last `listen = "..."` of a schoolgate config file, in `buf`. */
static int listen_of(const char *path, char *buf, size_t size) {
    char line[1024];
    int found = 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f)) {
        char *start = strstr(line, "listen = \"");
        char *end;
        if (start != line) continue;
        start += strlen("listen = \"");
        if ((end = strchr(start, '"')) == NULL || (size_t) (end - start) >= size) continue;
        memcpy(buf, start, end - start);
        buf[end - start] = 0;
        found = 1;
    }
    fclose(f);
    return found;
}

int main(int argc, char **argv) {
    static char listen[1024];
    struct smfiDesc desc;
    if (argc >= 3 && strcmp(argv[1], "--config") == 0) {
        if (!listen_of(argv[2], listen, sizeof listen)) {
            fprintf(stderr, "%s: no listen = \"...\" line\n", argv[2]);
            return 2;
        }
    } else if (argc == 2) {
        snprintf(listen, sizeof listen, "%s", argv[1]);
    } else {
        fprintf(stderr, "usage: %s unix:PATH | --config FILE serve\n", argv[0]);
        return 2;
    }
    memset(&desc, 0, sizeof desc);
    desc.xxfi_name = "libmilter-null";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
    desc.xxfi_envfrom = on_envelope;
    desc.xxfi_envrcpt = on_envelope;
    desc.xxfi_header = on_header;
    desc.xxfi_body = on_body;
    desc.xxfi_eom = on_eom;
    desc.xxfi_negotiate = negotiate;
    if (smfi_setconn(listen) == MI_FAILURE || smfi_register(desc) == MI_FAILURE) return 1;
    return smfi_main();
}
