#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""answer_prompt.py PROMPT ANSWER CMD...: runs CMD on a new pseudo-terminal (its controlling
terminal, so /dev/tty is the pty), waits (bounded, 60 s) for PROMPT in its output, types ANSWER and
a newline, then relays the rest. Exits with CMD's status; 124 when the prompt never came.
Lets tests check that a program asks on the terminal, without sleeping."""
import os
import pty
import select
import sys
import time

prompt, answer, cmd = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen, sent, deadline = b"", False, time.time() + 60
while True:
    r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
    if not r:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        sys.stdout.write(seen.decode(errors="replace") + "\n(timeout waiting for the prompt)\n")
        sys.exit(124)
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    seen += data
    if not sent and prompt in seen:
        os.write(fd, answer + b"\n")
        sent = True
sys.stdout.write(seen.decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if sent else 124)
