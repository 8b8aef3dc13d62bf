"""Affinity (匹配度): discipline match plus jieba TF-IDF text similarity, read from the 活页 only."""

import numpy as np
import pytest

from accounts import roles
from reviews.affinity import affinity_parts, discipline_match, proposal_text, tokenize, weights
from tests.factories import InstitutionFactory, ProjectFactory, UserFactory
from tests.reviews.factories import ExpertProfileFactory

pytestmark = pytest.mark.django_db


def expert(username, disciplines, keywords, profile_text):
    user = UserFactory(username=username, institution=InstitutionFactory(name=f"{username}大学"), role=roles.EXPERT)
    return ExpertProfileFactory(user=user, disciplines=disciplines, keywords=keywords, profile_text=profile_text)


@pytest.fixture
def elderly_proposal():
    return ProjectFactory(
        title="社区老年教育数字素养提升路径研究",
        keywords=["老年教育", "数字素养", "社区学习"],
        discipline="老年教育",
        basis="人口老龄化背景下，老年人的数字素养不足，老年教育需求快速增长。",
        content="研究社区老年学习者数字素养现状与老年大学课程。",
    )


@pytest.fixture
def elderly_expert():
    return expert("laonian", ["老年教育"], ["老年教育", "老年大学", "数字素养"],
                  "主持课题：老年教育课程体系研究；论文：老年人数字学习与社区老年大学。")


@pytest.fixture
def vocational_expert():
    return expert("zhiye", ["职业教育"], ["职业教育", "产教融合", "技能培训"],
                  "主持课题：职业院校产教融合机制研究；论文：企业技能培训与职业教育。")


def test_tokenizer_keeps_words_drops_single_characters_and_punctuation():
    words = tokenize("老年教育的数字化转型：基于社区、MOOC 与 2023 年调查！")
    assert "数字化" in words and "mooc" in words
    assert all(len(w) >= 2 for w in words)
    assert not {"的", "：", "、", "！", "2023"} & set(words)


def test_discipline_part():
    assert discipline_match("老年教育", ["职业教育", "老年教育"]) == 1.0
    assert discipline_match("教育技术学", ["教育学原理"]) == 0.5  # same first level: 教育…
    assert discipline_match("成人教育学", ["职业教育"]) == 0.0
    assert discipline_match("", ["成人教育学"]) == 0.0


def test_elderly_education_proposal_prefers_the_elderly_education_expert(
    elderly_proposal, elderly_expert, vocational_expert
):
    total, parts = affinity_parts([elderly_proposal], [elderly_expert, vocational_expert])
    assert total.shape == parts["discipline"].shape == parts["text"].shape == (1, 2)
    assert total[0, 0] > total[0, 1]
    assert parts["text"][0, 0] > parts["text"][0, 1]
    assert parts["discipline"][0].tolist() == [1.0, 0.0]


def test_parts_add_up_with_the_weights(settings, elderly_proposal, elderly_expert, vocational_expert):
    other = ProjectFactory(title="职业院校产教融合研究", keywords=["职业教育", "产教融合"], discipline="职业教育")
    projects, experts = [elderly_proposal, other], [elderly_expert, vocational_expert]
    total, parts = affinity_parts(projects, experts)
    w_d, w_t = weights()
    assert (w_d, w_t) == (0.4, 0.6)
    assert np.allclose(total, w_d * parts["discipline"] + w_t * parts["text"])
    assert ((parts["text"] >= 0) & (parts["text"] <= 1)).all()
    assert total[1, 1] > total[1, 0]

    settings.KETI_RULES = {**settings.KETI_RULES, "AFFINITY_WEIGHTS": {"discipline": 1.0, "text": 0.0}}
    total, parts = affinity_parts(projects, experts)
    assert np.allclose(total, parts["discipline"])


def test_a_class_may_override_the_weights(elderly_proposal, elderly_expert):
    call_class = elderly_proposal.call_class
    call_class.rules = {"AFFINITY_WEIGHTS": {"discipline": 0.0, "text": 1.0}}
    total, parts = affinity_parts([elderly_proposal], [elderly_expert], call_class=call_class)
    assert np.allclose(total, parts["text"])


def test_proposal_text_comes_from_the_anonymous_part_only(elderly_proposal):
    elderly_proposal.pi.real_name = "欧阳独孤"
    elderly_proposal.abstract = "摘要里的特殊词语"
    elderly_proposal.place_names = "浦东新区"
    text = proposal_text(elderly_proposal)
    assert elderly_proposal.title in text and "数字素养" in text and "老年大学课程" in text
    for identity in ("欧阳独孤", "摘要里的特殊词语", "浦东新区", elderly_proposal.institution.name):
        assert identity not in text


def test_empty_inputs_give_empty_or_zero_arrays(elderly_expert):
    total, parts = affinity_parts([], [elderly_expert])
    assert total.shape == (0, 1)
    blank = ProjectFactory(title="", keywords=[], discipline="", basis="", content="", approach="", innovation="",
                           expected_outcomes="", foundation="")
    silent = expert("silent", [], [], "")
    total, parts = affinity_parts([blank], [silent])
    assert total.tolist() == [[0.0]]
