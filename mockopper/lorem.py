"""Faker's lorem text (its `en_US` word list and its way of drawing) without importing Faker.

Importing Faker costs about 0.17 s, a quarter of a server's start-up, and the text a reply
draws most (`{{ faker.paragraph }}`, the default scenario's answer) needs none of it.
`Fake` answers Faker's lorem methods itself, from the same word list and with the same
draws, so the text is Faker's to the byte; every other Faker method (and a lorem call with
a word list or a part of speech of its own) goes to a real Faker drawing from the same
random stream. `tests/test_lorem.py` holds it to Faker's own output.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

__all__ = ["WORDS", "Fake"]

# Faker's `faker.providers.lorem.en_US` word list, in its order (a draw picks by position).
WORDS: tuple[str, ...] = tuple(
    """
a ability able about above accept according account across act action activity actually add address
administration admit adult affect after again against age agency agent ago agree agreement ahead air
all allow almost alone along already also although always American among amount analysis and animal
another answer any anyone anything appear apply approach area argue arm around arrive art article
artist as ask assume at attack attention attorney audience author authority available avoid away
baby back bad bag ball bank bar base be beat beautiful because become bed before begin behavior
behind believe benefit best better between beyond big bill billion bit black blood blue board body
book born both box boy break bring brother budget build building business but buy by call camera
campaign can candidate capital car card care career carry case catch cause cell center central
century certain certainly chair challenge chance change character charge check child choice choose
church citizen city civil claim class clear clearly close coach cold collection college color
commercial common community company compare computer concern condition conference Congress consider
consumer contain continue control cost could country couple course court cover create crime cultural
culture cup current customer cut dark data daughter day deal debate decade decide decision deep
defense degree Democrat democratic describe design despite detail determine develop development
difference different difficult dinner direction director discover discuss discussion do doctor dog
door down draw dream drive drop drug during each early east easy eat economic economy edge education
effect effort eight either election else employee end energy enjoy enough enter entire environment
environmental especially establish even evening event ever every everybody everyone everything
evidence exactly example executive exist expect experience expert explain eye face fact factor fall
family far fast father fear federal feel feeling few field fight figure fill film final finally
financial find fine finish fire firm first fish five floor fly focus follow food foot for force
foreign forget form former forward four free friend from front full fund future game garden gas
general generation get girl give glass go goal good government great green ground group grow growth
guess gun guy hair half hand happen happy hard have he head health hear heart heavy help her here
herself high him himself his history hit hold home hope hospital hot hotel hour house how however
huge human hundred husband I idea identify if image imagine impact important improve in include
including increase indeed indicate individual industry information inside instead institution
interest interesting international interview into investment involve issue it item its itself job
join just keep key kid kind kitchen know knowledge land language large last late later laugh law
lawyer lay lead leader learn least leave left leg less let letter level life light like likely line
list listen little live local long look lose loss lot low machine magazine main maintain major
majority make man manage management manager many market marriage material matter may maybe me mean
measure media medical meet meeting member memory mention message method middle might military
million mind minute miss mission model modern moment money month more morning most mother mouth move
movement movie Mr Mrs much music must my myself name nation national natural nature near nearly
necessary need network never new news newspaper next nice night no none nor north not note nothing
notice now number occur of off offer office officer official often oil ok old on once one only onto
open operation opportunity option or order organization other others our out outside over own owner
page painting paper parent part participant particular particularly partner party pass past pattern
pay peace people per perform performance perhaps person personal phone physical pick picture piece
place plan plant play player PM point police policy political politics poor popular population
position positive possible power practice prepare present president pressure pretty prevent price
probably process produce product production professional professor program project property protect
prove provide public pull purpose push put quality question quickly quite race radio raise range
rate rather reach read ready real reality realize really reason receive recent recently recognize
record red reduce reflect region relate relationship religious remain remember report represent
Republican require research resource respond response responsibility rest result return reveal rich
right rise risk road rock role room rule run safe same save say scene school science scientist score
sea season seat second section security see seek seem sell send senior sense series serious serve
service set seven several shake share she short should shoulder show side sign significant similar
simple simply since sing single sister sit site situation six size skill skin small smile so social
society soldier some somebody someone something sometimes son song soon sort sound source south
southern space speak special specific speech spend sport spring staff stage stand standard star
start state statement station stay step still stock stop store story strategy street strong
structure student study stuff style subject success successful such suddenly suffer suggest summer
support sure surface system table take talk task tax teach teacher team technology television tell
ten tend term test than thank that the their them themselves then theory there these they thing
think third this those though thought thousand threat three through throughout throw thus time to
today together tonight too top total tough toward town trade traditional training travel treat
treatment tree trial trip trouble true truth try turn TV two type under understand unit until up
upon us use usually value various very view visit voice vote wait walk wall want war watch water way
we wear week weight well west western what whatever when where whether which while white who whole
whom whose why wide wife will win wind window wish with within without woman wonder word work worker
world worry would write writer wrong yard yeah year yes yet you young your yourself
""".split()
)


def _plain(*counts: object) -> bool:
    """Counts Faker itself would take as counts: ints (not bools), which Faker's draws see unchanged."""
    return all(type(count) is int for count in counts)


class Fake:
    """A seeded Faker: the lorem methods drawn here, the rest by Faker, from one random stream.

    Seeding it is what `Faker.seed_instance(seed)` does (a `random.Random` seeded with
    `seed`), and each lorem method makes the draws Faker's would, in the same order.
    """

    def __init__(self, seed: int, faker: Callable[[], Any]) -> None:
        self.random = random.Random(seed)
        self._faker = faker

    def __getattr__(self, name: str) -> Any:
        """Any other Faker method, drawing from this one's stream."""
        if name.startswith("_"):  # not a Faker method (and copying or pickling asks before __init__ ran)
            raise AttributeError(name)
        faker = self._faker()
        faker.random = self.random
        return getattr(faker, name)

    def _delegate(self, name: str) -> Callable[..., Any]:
        """Faker's own `name`, for a call this class does not draw itself (it has a method of that name)."""
        return self.__getattr__(name)  # type: ignore[no-any-return]

    def _count(self, number: int) -> int:
        """Faker's `randomize_nb_elements(number, min=1)`: 60% to 140% of `number`, at least 1."""
        return max(1, int(number * self.random.randint(60, 140) / 100))

    def _words(self, nb: int) -> list[str]:
        # Faker's random_choices: one element by `choice`, any other number by `choices`
        return [self.random.choice(WORDS)] if nb == 1 else self.random.choices(WORDS, k=nb)

    def words(
        self, nb: int = 3, ext_word_list: Any = None, part_of_speech: str | None = None, unique: bool = False
    ) -> list[str]:
        if ext_word_list is not None or part_of_speech or unique or not _plain(nb):
            return self._delegate("words")(nb, ext_word_list, part_of_speech, unique)  # type: ignore[no-any-return]
        return self._words(nb)

    def word(self, part_of_speech: str | None = None, ext_word_list: Any = None) -> str:
        if part_of_speech or ext_word_list is not None:
            return self._delegate("word")(part_of_speech, ext_word_list)  # type: ignore[no-any-return]
        return self.random.choice(WORDS)

    def sentence(self, nb_words: int = 6, variable_nb_words: bool = True, ext_word_list: Any = None) -> str:
        if ext_word_list is not None or not _plain(nb_words):
            return self._delegate("sentence")(nb_words, variable_nb_words, ext_word_list)  # type: ignore[no-any-return]
        if nb_words <= 0:
            return ""
        words = self._words(self._count(nb_words) if variable_nb_words else nb_words)
        words[0] = words[0].title()
        return " ".join(words) + "."

    def sentences(self, nb: int = 3, ext_word_list: Any = None) -> list[str]:
        if ext_word_list is not None or not _plain(nb):
            return self._delegate("sentences")(nb, ext_word_list)  # type: ignore[no-any-return]
        return [self.sentence() for _ in range(nb)]

    def paragraph(self, nb_sentences: int = 3, variable_nb_sentences: bool = True, ext_word_list: Any = None) -> str:
        if ext_word_list is not None or not _plain(nb_sentences):
            return self._delegate("paragraph")(  # type: ignore[no-any-return]
                nb_sentences, variable_nb_sentences, ext_word_list
            )
        if nb_sentences <= 0:
            return ""
        return " ".join(self.sentences(self._count(nb_sentences) if variable_nb_sentences else nb_sentences))

    def paragraphs(self, nb: int = 3, ext_word_list: Any = None) -> list[str]:
        if ext_word_list is not None or not _plain(nb):
            return self._delegate("paragraphs")(nb, ext_word_list)  # type: ignore[no-any-return]
        return [self.paragraph() for _ in range(nb)]

    def text(self, max_nb_chars: int = 200, ext_word_list: Any = None) -> str:
        if ext_word_list is not None or not _plain(max_nb_chars) or max_nb_chars < 5:
            return self._delegate("text")(max_nb_chars, ext_word_list)  # type: ignore[no-any-return]
        # Faker's way: whole words (under 25 characters), sentences (under 100) or
        # paragraphs, drawn until the limit is reached, the last one dropped
        unit: Callable[[], str]
        if max_nb_chars < 25:
            unit, joiner = self.word, " "
        elif max_nb_chars < 100:
            unit, joiner = self.sentence, " "
        else:
            unit, joiner = self.paragraph, "\n"
        parts: list[str] = []
        while not parts:
            size = 0
            while size < max_nb_chars:
                part = (joiner if size else "") + unit()
                parts.append(part)
                size += len(part)
            parts.pop()
        if max_nb_chars < 25:
            parts[0] = parts[0][0].upper() + parts[0][1:]
            parts[-1] += "."
        return "".join(parts)

    def texts(self, nb_texts: int = 3, max_nb_chars: int = 200, ext_word_list: Any = None) -> list[str]:
        if ext_word_list is not None or not _plain(nb_texts, max_nb_chars) or max_nb_chars < 5:
            return self._delegate("texts")(nb_texts, max_nb_chars, ext_word_list)  # type: ignore[no-any-return]
        return [self.text(max_nb_chars) for _ in range(nb_texts)]
