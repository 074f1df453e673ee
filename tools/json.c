/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming JSON writer, enough for schsm-tool's --json output. Pretty-printed with two-space
 * indentation so that people can read it and scripts can parse it. Strings are escaped per
 * RFC 8259; bytes >= 0x80 pass through (labels are UTF-8). */
#include "tools/util.h"

#include <string.h>

void tool_json_init(tool_json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

static void indent(tool_json *j)
{
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Separator and indentation before a value or key at the current level. */
static void before_item(tool_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    if (j->need_comma[j->depth])
        fputc(',', j->f);
    j->need_comma[j->depth] = 1;
    indent(j);
}

static void open_level(tool_json *j, char c)
{
    before_item(j);
    fputc(c, j->f);
    if (j->depth < (int)(sizeof(j->need_comma) / sizeof(j->need_comma[0])) - 1)
        j->depth++;
    j->need_comma[j->depth] = 0;
}

static void close_level(tool_json *j, char c)
{
    int had_items = j->need_comma[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (had_items)
        indent(j);
    fputc(c, j->f);
}

void tool_json_begin_object(tool_json *j) { open_level(j, '{'); }
void tool_json_end_object(tool_json *j) { close_level(j, '}'); }
void tool_json_begin_array(tool_json *j) { open_level(j, '['); }
void tool_json_end_array(tool_json *j) { close_level(j, ']'); }

static void put_escaped(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void tool_json_key(tool_json *j, const char *key)
{
    before_item(j);
    put_escaped(j->f, key, strlen(key));
    fputs(": ", j->f);
    j->after_key = 1;
}

void tool_json_string_n(tool_json *j, const char *s, size_t n)
{
    before_item(j);
    put_escaped(j->f, s, n);
}

void tool_json_string(tool_json *j, const char *s)
{
    if (s == NULL) {
        tool_json_null(j);
        return;
    }
    tool_json_string_n(j, s, strlen(s));
}

void tool_json_int(tool_json *j, long long v)
{
    before_item(j);
    fprintf(j->f, "%lld", v);
}

void tool_json_bool(tool_json *j, int v)
{
    before_item(j);
    fputs(v ? "true" : "false", j->f);
}

void tool_json_null(tool_json *j)
{
    before_item(j);
    fputs("null", j->f);
}

void tool_json_finish(tool_json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}
