#include "reader/reader.h"
#include "hsm/rv.h"
#include "sim/transport.h"

#include <stdlib.h>
#include <string.h>

int schsm_reader_open(const char *spec, hsm_transport **out, char *why, size_t why_len)
{
    if (spec == NULL || *spec == '\0')
        spec = getenv("SCHSM_READER");
    if (spec != NULL && *spec == '\0')
        spec = NULL;
    if (spec != NULL && strncmp(spec, "sim:", 4) == 0)
        return sim_transport_open(spec + 4, out, why, why_len);
    return hsm_pcsc_open(spec, out, why, why_len);
}
