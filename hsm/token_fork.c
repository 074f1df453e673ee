/* SPDX-License-Identifier: Apache-2.0 */
/* Fork handling for token sessions.
 *
 * A pthread_atfork child handler bumps a generation counter; tok_open() compares it with the
 * generation the session last saw. So a process that never forks pays one load and compare per
 * operation (no getpid() system call), and the handler is registered once, on the first token.
 * glibc drops handlers of a module when it is unloaded, so dlclose() of the provider is safe.
 *
 * What a child keeps from its parent, and why that is not stale state:
 *  - Never the parent's transport (PC/SC context and card handle, or the sim's file lock): the
 *    child abandons it, never closes it (that would disturb the parent), and opens its own, on
 *    the reader name the parent resolved, so no probing SELECT (which would log every process
 *    out of the card) is needed.
 *  - The key directory, the card identity (serial) and the public-key cache are kept, but
 *    marked "inherited": before the child's first operation uses them it sends one PIN-status
 *    query, without SELECT. The card answers 9000 only when our applet is still selected and the
 *    user PIN is verified, i.e. no reset, no removal and no SELECT happened since the last
 *    successful VERIFY. Those are exactly the events that accompany every change of the key set
 *    (schsm-tool and hsm_token_generate/delete re-select the applet after a change, see
 *    token.h), and a card swap or reset. So 9000 leaves the child exactly as certain as its
 *    parent would be with a standing login, and the inherited state is used (first private-key
 *    operation: status query + SIGN). Any other answer (63Cx, 6D00/6E00 "not selected",
 *    6982, a transport error) drops everything inherited, and the operation starts from SELECT
 *    as in a fresh process.
 *  - The login state itself is never inherited (logged_in = 0): only the card's answer counts.
 *  - The held PIN is kept (it is what lets workers log in again after a card reset); whether it
 *    was proven by the card in the parent is kept too.
 * A parent that forks while another of its threads is inside a token operation would leave the
 * token's mutex locked in the child; servers fork from their single-threaded master. */
#include "hsm/token_int.h"
#include "hsm/rv.h"
#include "hsm/trace.h"

#include <pthread.h>
#include <unistd.h>

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static unsigned long fork_generation;

static void in_child(void)
{
    __atomic_add_fetch(&fork_generation, 1, __ATOMIC_RELAXED);
}

static void register_handler(void)
{
    pthread_atfork(NULL, NULL, in_child);
}

void tok_fork_register(void)
{
    pthread_once(&fork_once, register_handler);
}

unsigned long tok_fork_gen(void)
{
    return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

void tok_adopt_after_fork(hsm_token *t)
{
    t->card = NULL;          /* the parent's handles: abandoned, never closed */
    t->pid = getpid();
    t->gen = tok_fork_gen();
    t->logged_in = 0;
    t->inherited = t->selected || t->dir_valid || t->serial_valid || t->info_valid;
    t->pin_worked = t->pin_worked && t->have_pin;
}

void tok_confirm_inherited(hsm_token *t)
{
    uint16_t sw = 0;
    t->inherited = 0;
    if (t->selected && hsm_card_pin_status(t->card, HSM_PIN_USER, &sw) == HSM_OK && sw == 0x9000) {
        t->logged_in = 1;
        return;
    }
    hsm_log("after fork: the card's login did not stand (SW %04X); re-reading the card", sw);
    tok_forget(t);
}
