"""Attack: never answer, ignoring the signals that ask a process to stop."""
# base: starter
import signal

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGXCPU, signal.SIGALRM, signal.SIGHUP):
    signal.signal(sig, signal.SIG_IGN)


def attack(*args, **kwargs):
    while True:
        pass


def __getattr__(name):
    return attack
