"""Attack: terminal control sequences (clear the screen, retitle, move the cursor, recolour, reorder text)
in what it prints and in its exception messages, and spreadsheet formulas in the gradebook (the harness
packages it as a zip named like a formula)."""
# base: starter
# packaged: =HYPERLINK("x").zip


def attack(*args, **kwargs):
    print("\x1b[2J\x1b]0;owned\x07\x1b[1A\rprinted\u202e", flush=True)
    raise ValueError("\x1b[31mred\x1b[0m\r\x1b]8;;http://x\x07link\u202eevil")


def __getattr__(name):
    return attack
