/* SPDX-License-Identifier: Apache-2.0 */
/* Public files of the identity, attestation and key-domain commands (chains, bundles, KDMs,
 * exchange requests): none of them is secret, so they are written with the umask's mode. */
#include "tools/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hsm/device.h"
#include "hsm/rv.h"

#define PUBLIC_FILE_MAX (256 * 1024)

int tool_write_public(tool_ctx *ctx, const char *path, const uint8_t *data, size_t len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    if (f == NULL)
        return tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", path, strerror(errno));
    int bad = fwrite(data, 1, len, f) != len;
    if (f == stdout)
        bad |= fflush(f) != 0;
    else
        bad |= fclose(f) != 0;
    if (bad)
        return tool_error(ctx, TOOL_FAIL, "cannot write %s: %s", path, strerror(errno));
    return TOOL_OK;
}

int tool_read_public(tool_ctx *ctx, const char *path, const char *what, hsm_bytes *out)
{
    int rv = hsm_read_whole_file(path, PUBLIC_FILE_MAX, out);
    if (rv == HSM_E_NOT_FOUND)
        return tool_error(ctx, TOOL_FAIL, "cannot open %s (%s): %s", path, what, strerror(errno));
    if (rv == HSM_E_ARGS)
        return tool_error(ctx, TOOL_FAIL, "%s is larger than %d bytes: not %s", path, PUBLIC_FILE_MAX, what);
    if (rv != HSM_OK)
        return tool_error(ctx, TOOL_FAIL, "cannot read %s (%s)", path, what);
    return TOOL_OK;
}

void tool_json_hex(tool_json *j, const char *key, const uint8_t *p, size_t n)
{
    char *hex = hsm_hex_encode(p, n);
    tool_json_key(j, key);
    tool_json_string(j, hex);
    free(hex);
}
