/* SPDX-License-Identifier: MIT */
/*
 * A worker's last act when plugin code kills it: close its broker
 * connection the polite way, so that the replies it wrote just before it
 * died still reach their callers.
 *
 * Those requests are already marked answered (their redeliveries are acked,
 * not run again), so a lost reply would leave its caller waiting for
 * nothing. And a connection that simply ends loses them: the broker tears
 * the connection's channels down at once, dropping publishes it had read
 * but not yet routed; a process that dies with unread deliveries in its
 * receive buffer even makes the kernel reset the connection. A
 * connection.close instead makes the broker route everything published
 * before it, then answer close-ok and end the connection. So on a fatal
 * signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS) or an exit()
 * from plugin code, the worker writes connection.close on its socket,
 * reads until close-ok (at most CLOSE_WAIT_MS), and then dies as it would
 * have. A SIGKILL gets no such chance.
 *
 * Threads: rpcd__crash_close_watch() may be called from any thread; the
 * handlers use only async-signal-safe calls.
 */
#ifndef RPCD_CRASH_CLOSE_H
#define RPCD_CRASH_CLOSE_H

/* Install the fatal-signal handlers (on an alternate stack, so that a
 * stack overflow is covered too) and the exit hook. Once per process.
 * \return 0, or -1 with errno set */
int rpcd__crash_close_install(void);

/*
 * The broker connection's socket to close when the process dies; -1:
 * none (closed politely already, or not open). Set it only while no frame
 * is half written by the thread that may crash: plugin code runs between
 * frames.
 */
void rpcd__crash_close_watch(int fd);

#endif /* RPCD_CRASH_CLOSE_H */
