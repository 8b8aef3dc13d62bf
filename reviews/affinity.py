"""Affinity (匹配度) of an expert for a proposal: what the assigner maximises.

affinity = w_d · discipline + w_t · text, with the weights of the rule
``AFFINITY_WEIGHTS`` (settings.KETI_RULES, overridable per class).

- **discipline** in [0, 1]: 1 when the proposal's discipline (学科) is one of the
  expert's, 0.5 when they share a first-level discipline (the first two
  characters: 教育技术学 and 教育学 are both 教育…), else 0.
- **text** in [0, 1]: cosine similarity of jieba-segmented TF-IDF vectors between
  the expert's research keywords (repeated, so that they weigh more) with the
  profile text, and the proposal's title, keywords and argument. Only the
  anonymous part of the proposal (活页) is read, so that nothing of the team can
  steer the match. The vectorizer is fitted on both corpora together, so that a
  word every expert writes ("研究") counts for little.

Each assignment stores both parts, so the secretariat sees why a pair was made.
"""

import re

import numpy as np

from projects.models import ARGUMENT_FIELDS
from projects.rules import rule

# Keywords say more about an expert than a line of the publication list.
EXPERT_KEYWORD_REPEAT = 3
PROPOSAL_KEYWORD_REPEAT = 2
_WORD = re.compile(r"\w", re.UNICODE)


def tokenize(text):
    """jieba's words of ``text`` worth comparing: two characters or more, not punctuation.

    Single characters (的, 与, 和 …) and punctuation carry no topic; Latin words are
    lower-cased so that "MOOC" and "mooc" meet.
    """
    from archive.search import text as search_text

    search_text.warm_up()  # the archive's jieba, loaded once per process with its log silenced
    words = []
    for word in search_text.jieba.lcut(text or ""):
        word = word.strip().lower()
        if len(word) >= 2 and _WORD.search(word) and not word.isdigit():
            words.append(word)
    return words


def expert_text(expert):
    """The expert's side of the comparison: keywords (repeated) and the profile text."""
    keywords = " ".join(str(k) for k in (expert.keywords or ()))
    return "\n".join([keywords] * EXPERT_KEYWORD_REPEAT + [expert.profile_text or ""])


def proposal_text(project):
    """The proposal's side, from the anonymous part only: title, keywords, argument (活页)."""
    keywords = " ".join(str(k) for k in (project.keywords or ()))
    parts = [project.title or ""] + [keywords] * PROPOSAL_KEYWORD_REPEAT
    parts += [getattr(project, name) or "" for name in ARGUMENT_FIELDS]
    return "\n".join(parts)


def discipline_match(discipline, expert_disciplines):
    """1 for the same discipline, 0.5 for the same first-level discipline, else 0."""
    discipline = (discipline or "").strip()
    if not discipline:
        return 0.0
    own = [str(d).strip() for d in (expert_disciplines or ()) if str(d).strip()]
    if discipline in own:
        return 1.0
    if any(d[:2] == discipline[:2] for d in own):
        return 0.5
    return 0.0


def discipline_matrix(projects, experts):
    """P×E discipline part."""
    out = np.zeros((len(projects), len(experts)), dtype=np.float64)
    for e, expert in enumerate(experts):
        for p, project in enumerate(projects):
            out[p, e] = discipline_match(project.discipline, expert.disciplines)
    return out


def text_matrix(projects, experts):
    """P×E text part: cosine of TF-IDF vectors (rows l2-normalised, so a dot product)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    P, E = len(projects), len(experts)
    if not P or not E:
        return np.zeros((P, E), dtype=np.float64)
    documents = [proposal_text(p) for p in projects] + [expert_text(e) for e in experts]
    vectorizer = TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, norm="l2")
    try:
        matrix = vectorizer.fit_transform(documents)
    except ValueError:  # no word at all in any document
        return np.zeros((P, E), dtype=np.float64)
    similarity = linear_kernel(matrix[:P], matrix[P:])
    return np.clip(np.asarray(similarity, dtype=np.float64), 0.0, 1.0)


def weights(call_class=None):
    """(w_discipline, w_text) of the rule ``AFFINITY_WEIGHTS``."""
    value = rule("AFFINITY_WEIGHTS", call_class)
    return float(value.get("discipline", 0)), float(value.get("text", 0))


def affinity_parts(projects, experts, *, call_class=None):
    """(total, {"discipline": D, "text": T}): float arrays P×E, total = w_d·D + w_t·T.

    ``projects`` need only their anonymous fields (title, keywords, discipline,
    argument); ``call_class`` gives the weights (its rule overrides; default: the
    association's rule).
    """
    projects, experts = list(projects), list(experts)
    w_discipline, w_text = weights(call_class)
    discipline = discipline_matrix(projects, experts)
    text = text_matrix(projects, experts)
    total = w_discipline * discipline + w_text * text
    return total, {"discipline": discipline, "text": text}
