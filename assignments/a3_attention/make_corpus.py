"""Write corpus.txt: a small English corpus with structure a character-level model can learn in minutes.

The text is produced by a handful of seeded templates, so the same seed always gives the same file. Each
kind of paragraph exercises a different thing attention is good at:

- stories: a character's name, their lost object, its colour and its hiding place are chosen once and
  repeated later, so predicting them means looking back at an earlier position (copying);
- plain sentences: a subject and its verb agree in number ("the fox runs", "the foxes run");
- counting: number words in order, upwards or downwards;
- sums: "two and three make five.", small additions written in words;
- rhymes: couplets whose last words rhyme.

Standard library only. Usage:

    python make_corpus.py                     # writes corpus.txt next to this script
    python make_corpus.py --out other.txt --seed 7 --size 60000
"""

import argparse
import random
from pathlib import Path

DEFAULT_SEED = 2024
DEFAULT_SIZE = 100_000  # characters, approximately (generation stops after the paragraph that crosses it)

NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty",
]  # fmt: skip

# (name, possessive pronoun)
CHARACTERS = [
    ("Pip", "his"), ("Tom", "his"), ("Ben", "his"), ("Max", "his"), ("Leo", "his"), ("Sam", "his"),
    ("Finn", "his"), ("Otto", "his"), ("Mia", "her"), ("Ada", "her"), ("Lily", "her"), ("Nora", "her"),
    ("Rosa", "her"), ("Ivy", "her"), ("Zoe", "her"), ("Emma", "her"),
]  # fmt: skip
ANIMALS = ["fox", "hen", "cat", "dog", "owl", "frog", "mouse", "bear", "duck", "goat", "rabbit", "pig"]
PLACES = [
    "in a small house", "by the river", "under a big tree", "on a green hill", "near the old mill",
    "at the edge of the wood", "in a red barn", "behind the garden wall",
]  # fmt: skip
ROUTINES = [
    "ate some bread", "sang a song", "walked to the pond", "counted the clouds", "drank warm milk",
    "read a book", "swept the floor", "watered the flowers",
]  # fmt: skip
COLOURS = ["red", "blue", "green", "yellow", "white", "black", "brown", "pink"]
OBJECTS = ["cup", "hat", "ball", "kite", "key", "boot", "book", "drum", "scarf", "spoon"]
SPOTS = [
    "under the bed", "behind the door", "in the box", "on the roof", "near the well", "in the grass",
    "under the table", "by the fence", "inside the basket", "on the shelf",
]  # fmt: skip
ENDINGS = ["was very happy", "laughed and laughed", "gave {friend} a big hug", "thanked {friend} twice"]

# (singular, plural) nouns and verbs, for subject-verb agreement
NOUNS = [
    ("fox", "foxes"), ("cat", "cats"), ("dog", "dogs"), ("bird", "birds"), ("child", "children"),
    ("mouse", "mice"), ("sheep", "sheep"), ("horse", "horses"), ("farmer", "farmers"), ("bee", "bees"),
]  # fmt: skip
VERBS = [
    ("runs", "run"), ("jumps", "jump"), ("sleeps", "sleep"), ("walks", "walk"), ("sings", "sing"),
    ("hides", "hide"), ("waits", "wait"), ("plays", "play"),
]  # fmt: skip
ADJECTIVES = ["little", "big", "old", "young", "happy", "sleepy", "quick", "quiet", "brave", "tiny"]
PREPOSITIONS = ["on the hill", "near the pond", "in the field", "under the bridge", "by the barn", "at night"]

RHYMES = [
    ["cat", "hat", "mat", "bat", "rat"],
    ["frog", "log", "dog", "fog"],
    ["bee", "tree", "sea", "key"],
    ["star", "car", "jar"],
    ["moon", "spoon", "dune"],
    ["goat", "boat", "coat"],
    ["mouse", "house", "blouse"],
    ["bear", "chair", "pear"],
    ["fish", "dish", "wish"],
    ["snail", "pail", "sail", "trail"],
]


def a_or_an(word: str) -> str:
    """The indefinite article for ``word``."""
    return "an" if word[0] in "aeiou" else "a"


def story(rng: random.Random) -> str:
    """A little story in which names, objects, colours and places come back later."""
    name, pronoun = rng.choice(CHARACTERS)
    friend, _ = rng.choice([c for c in CHARACTERS if c[0] != name])
    animal, friend_animal = rng.choice(ANIMALS), rng.choice(ANIMALS)
    colour, obj = rng.choice(COLOURS), rng.choice(OBJECTS)
    wrong_1, wrong_2, right = _distinct(rng, SPOTS, 3)
    lines = [
        f"Once upon a time there was {a_or_an(animal)} {animal} named {name}.",
        f"{name} lived {rng.choice(PLACES)}.",
        f"Every morning {name} {rng.choice(ROUTINES)}.",
        f"One day {name} lost {pronoun} {colour} {obj}.",
        f"{name} looked {wrong_1} and {wrong_2}, but the {obj} was not there.",
        f"Then {a_or_an(friend_animal)} {friend_animal} named {friend} came by.",
        f'"{friend}, have you seen my {obj}?" asked {name}.',
        f'"Yes," said {friend}. "Your {colour} {obj} is {right}."',
        f"{name} found the {obj} {right} and {rng.choice(ENDINGS).format(friend=friend)}. The end.",
    ]
    return " ".join(lines)


def sentences(rng: random.Random) -> str:
    """Three to five short sentences whose verbs agree with their subjects."""
    out = []
    for _ in range(rng.randint(3, 5)):
        singular, plural = rng.choice(NOUNS)
        verb_s, verb_p = rng.choice(VERBS)
        adjective = rng.choice(ADJECTIVES)
        if rng.random() < 0.5:
            subject, verb = f"the {adjective} {singular}", verb_s
        else:
            subject, verb = f"the {adjective} {plural}", verb_p
        out.append(f"{subject[0].upper()}{subject[1:]} {verb} {rng.choice(PREPOSITIONS)}.")
    return " ".join(out)


def counting(rng: random.Random) -> str:
    """Count up or down through a run of number words."""
    length = rng.randint(4, 8)
    if rng.random() < 0.6:
        start = rng.randint(1, len(NUMBERS) - length)
        words, head = NUMBERS[start : start + length], "Count up:"
    else:
        start = rng.randint(length - 1, len(NUMBERS) - 1)
        words, head = NUMBERS[start - length + 1 : start + 1][::-1], "Count down:"
    return f"{head} {', '.join(words)}."


def sums(rng: random.Random) -> str:
    """Two to four small additions in words."""
    out = []
    for _ in range(rng.randint(2, 4)):
        a = rng.randint(0, 10)
        b = rng.randint(0, 10 - a)
        out.append(f"{NUMBERS[a].capitalize()} and {NUMBERS[b]} make {NUMBERS[a + b]}.")
    return " ".join(out)


def rhyme(rng: random.Random) -> str:
    """Two rhyming couplets: "Tom saw a frog / sitting on a log."."""
    out = []
    for family in _distinct(rng, RHYMES, 2):
        first, second = _distinct(rng, family, 2)
        name, _ = rng.choice(CHARACTERS)
        verb = rng.choice(["sitting on", "looking at", "dreaming of", "running to"])
        out.append(f"{name} saw {a_or_an(first)} {first}\n{verb} {a_or_an(second)} {second}.")
    return "\n".join(out)


def _distinct(rng: random.Random, items: list, n: int) -> list:
    """``n`` different items of ``items`` in random order; ``rng.sample`` spelled out, to stay stable."""
    pool = list(items)
    picked = []
    for _ in range(n):
        picked.append(pool.pop(rng.randrange(len(pool))))
    return picked


KINDS = [(story, 0.40), (sentences, 0.25), (counting, 0.12), (sums, 0.11), (rhyme, 0.12)]


def make_corpus(seed: int = DEFAULT_SEED, size: int = DEFAULT_SIZE) -> str:
    """Paragraphs of mixed kinds, separated by blank lines, until about ``size`` characters."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    total = 0
    while total < size:
        r, acc = rng.random(), 0.0
        make = KINDS[-1][0]
        for kind, weight in KINDS:
            acc += weight
            if r < acc:
                make = kind
                break
        paragraphs.append(make(rng))
        total += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("corpus.txt"))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="approximate length in characters")
    args = parser.parse_args()
    text = make_corpus(args.seed, args.size)
    args.out.write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(text)} characters, {len(set(text))} distinct, to {args.out}")


if __name__ == "__main__":
    main()
