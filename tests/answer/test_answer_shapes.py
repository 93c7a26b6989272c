"""Answer shapes (query.answer.row_lane.AnswerShape): "which shortcut does X" is answered by
the entry of a key list that holds a key and names X, though it never writes "shortcut";
pages that talk about shortcuts in prose do not outrank it, and the entry leads the answer."""

from __future__ import annotations

from dataclasses import replace

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from core.embedding import get_embed_model
from ingest.run import ingest
from query.answer.engine import Engine
from query.answer.extractive import WEIGHTS, extractive_answer
from query.answer.row_lane import asked_shape
from query.answer.sections import Section
from tests.helpers import make_settings

KEYS_KO = [("Ctrl + N", "새 이미지"), ("Ctrl + O", "이미지 열기"), ("Ctrl + Alt + O", "이미지를 레이어로 열기"),
           ("Ctrl + S", "저장"), ("Shift + Ctrl + S", "다른 이름으로 저장"), ("Ctrl + W", "창 닫기"),
           ("Ctrl + Q", "끝내기"), ("Ctrl + P", "인쇄"), ("Ctrl + E", "내보내기"), ("Shift + Ctrl + E", "다른 형식으로 내보내기")]
KEYS_EN = [("Ctrl + N", "New image"), ("Ctrl + O", "Open image"), ("Ctrl + Alt + O", "Open image as layers"),
           ("Ctrl + S", "Save"), ("Shift + Ctrl + S", "Save as"), ("Ctrl + W", "Close window"),
           ("Ctrl + Q", "Quit"), ("Ctrl + P", "Print"), ("Ctrl + E", "Export"), ("Shift + Ctrl + E", "Export as")]
# Pages that say "shortcut" and share the question's other words, in prose and in lists.
PROSE_KO = [
    ("prefs.html", "단축키 설정", ["단축키 대화 상자에서 메뉴마다 단축키를 바꿀 수 있습니다.",
                                 "• 저장: 바꾼 단축키를 저장합니다.", "• 닫기: 단축키 대화 상자를 닫습니다.",
                                 "• 도움말: 이 도움말 페이지를 엽니다.", "단축키가 이미 다른 메뉴에 있으면 경고가 나옵니다."]),
    ("layers.html", "레이어로 열기", ["이미지를 레이어로 열면 선택한 파일의 레이어가 현재 이미지 위에 더해집니다.",
                                  "여러 파일을 한꺼번에 골라 열 수 있습니다."]),
]
PROSE_EN = [
    ("prefs.html", "Keyboard shortcuts", ["In the shortcuts dialog you can change the shortcut of every menu entry.",
                                         "• Save: saves the shortcuts you changed.", "• Close: closes the shortcuts dialog.",
                                         "• Help: opens this help page.", "A shortcut already in use elsewhere is reported."]),
    ("layers.html", "Open as layers", ["Opening an image as layers adds the layers of the chosen file on top of the current image.",
                                      "You can choose several files to open at once."]),
]
SETTINGS: dict = {}  # (switched off to see the test fail: {"shape_weight": 0} or {"row_items": False})
CASES = {
    "ko": (KEYS_KO, PROSE_KO, "파일 메뉴 키 참조", "이미지를 레이어로 여는 단축키는?", "Ctrl + Alt + O"),
    "en": (KEYS_EN, PROSE_EN, "File menu key reference", "shortcut to open an image as layers", "Ctrl + Alt + O"),
}


def _manual(root, lang: str):
    keys, prose, title, _, _ = CASES[lang]
    root.mkdir(parents=True)
    entries = "".join(f"<dt>{key}</dt><dd>{what}</dd>" for key, what in keys)
    (root / "keys.html").write_text(f'<html lang="{lang}"><head><title>{title}</title></head><body>'
                                    f'<h1 id="file">{title}</h1><dl>{entries}</dl></body></html>', encoding="utf-8")
    for name, heading, lines in prose:
        items = "".join(f"<li>{line[2:]}</li>" for line in lines if line.startswith("• "))
        paragraphs = [f"<p>{line}</p>" for line in lines if not line.startswith("• ")]
        body = paragraphs[0] + (f"<ul>{items}</ul>" if items else "") + "".join(paragraphs[1:])
        (root / name).write_text(f'<html lang="{lang}"><head><title>{heading}</title></head><body>'
                                 f'<h1 id="x">{heading}</h1>{body}</body></html>', encoding="utf-8")
    return root


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_which_shortcut_is_answered_by_the_key_entry(tmp_path, lang):
    settings = make_settings(tmp_path / "storage", **SETTINGS)
    assert ingest([_manual(tmp_path / "manuals", lang)], settings, progress=False).files.failed == 0
    _, _, _, question, key = CASES[lang]
    result = Engine(settings).ask(question, use_llm=False).contract()
    urls = [s["url"] for s in result["sources"]]
    assert urls[0] == "keys.html#file", urls  # not the shortcuts dialog, not the page about opening as layers
    first = result["answer"].split("\n")[0]
    assert first.startswith(key + ":"), result["answer"]  # the entry itself, not "Ctrl + O: ..." or prose


def test_questions_asking_for_a_key_by_its_type():
    for question in ("gimp crop tool shortcut", "Which keyboard shortcut opens Export As?", "fullscreen key",
                     "is there a key to jump to the layer above?", "BIOS 설정 화면 들어가는 키",
                     "다른 이름으로 저장하는 단축키는?", "창 닫기 바로 가기 키"):
        assert asked_shape(question) is not None, question
    for question in ("How do I save?", "키보드 배치를 바꾸려면?", "What is the key difference between A and B?",
                     "키워드 검색은 어떻게 해요?"):
        assert asked_shape(question) is None, question


def _section(section_id: str, text: str, rows: list[str] | None = None, answers: bool = False) -> Section:
    node = TextNode(text=text, metadata={"path": section_id.split("#")[0], "anchor": "a", "heading": text.split("\n")[0]})
    return Section(section_id, [NodeWithScore(node=node, score=1.0)], 1.0, rows=rows or [], answers=answers)


def test_the_asked_key_leads_from_a_lower_source(tmp_path):
    """The first source talks about shortcuts; the third holds the key entry the question
    asked for (`Section.answers`): that entry is the answer's first line."""
    entry = "Shift + Ctrl + J: Fit image in window"
    keys = "View keys\n" + "\n".join(["Ctrl + E: Shrink wrap", entry, "F11: Toggle fullscreen", "Tab: Toggle docks"])
    sections = [
        _section("window.html#a", "Image window\nYou can make the image fit the window with two keyboard shortcuts, "
                                  "which keep or change the zoom level."),
        _section("zoom.html#a", "Zoom\nZooming changes how large the image looks in the window; it keeps the pixels."),
        _section("keys.html#a", keys, rows=[entry], answers=True),
    ]
    embed = get_embed_model(make_settings(tmp_path))
    question = "What is the shortcut to make the image fit the window?"
    assert extractive_answer(question, sections, embed).split("\n")[0] == f"{entry} [3]"
    sections[2].answers = False  # a table row of a lower source found by shared words is context, not the answer
    assert extractive_answer(question, sections, embed).split("\n")[0] != f"{entry} [3]"


# A key table of a word processor's help, in the order such tables list keys: the row the
# question needs is far below a source's share of MAX_UNITS_PER_SOURCE lines.
WRITER_KEYS = [("Ctrl+A", "모두 선택"), ("Ctrl+B", "굵게"), ("Ctrl+C", "복사"), ("Ctrl+D", "이중 밑줄"),
               ("Ctrl+F", "찾기 도구 모음 열기"), ("Ctrl+H", "찾기 및 바꾸기"), ("Ctrl+I", "기울임꼴"),
               ("Ctrl+1", "제목 1 문단 스타일 적용"), ("Ctrl+2", "제목 2 문단 스타일 적용"),
               ("Ctrl+3", "제목 3 문단 스타일 적용"), ("Ctrl+0", "본문 문단 스타일 적용"), ("Ctrl+K", "하이퍼링크 삽입"),
               ("Ctrl+N", "새 문서 만들기"), ("Ctrl+O", "문서 열기"), ("Ctrl+P", "인쇄"), ("Ctrl+S", "저장"),
               ("Ctrl+U", "밑줄"), ("Ctrl+Z", "실행 취소"), ("Ctrl+Enter", "쪽 나누기 삽입"), ("F7", "맞춤법 검사"),
               ("Ctrl+E", "가운데 맞춤"), ("Ctrl+Shift+S", "다른 이름으로 저장"), ("Alt+Enter", "숨은 문단 앞에 새 문단 삽입")]


@pytest.mark.parametrize("weights, shown", [(WEIGHTS, True), (replace(WEIGHTS, new_term_units=False), False)])
def test_a_row_far_down_a_large_table_is_read_when_it_names_a_question_word(tmp_path, weights, shown):
    """"Which key centres a paragraph?": the table's first rows share "문단" (heading styles);
    the "Ctrl+E: 가운데 맞춤" row far below is the one naming "가운데", and it is read and
    shown though the source's share of lines is used up (extractive.NEW_TERM_UNITS)."""
    rows = "\n".join(f"바로 가기 키: {key}; 효과: {what}." for key, what in WRITER_KEYS)
    sections = [_section("keys.html#top", "Writer 바로 가기 키\n" + rows)]
    embed = get_embed_model(make_settings(tmp_path))
    answer = extractive_answer("문단을 가운데로 정렬하는 키가 뭐예요?", sections, embed, weights=weights)
    assert ("바로 가기 키: Ctrl+E; 효과: 가운데 맞춤." in answer) is shown, answer


@pytest.mark.parametrize("coverage, leads", [(None, True), (0.5, False)])
def test_a_key_row_sharing_one_word_with_an_everyday_question_leads(tmp_path, coverage, leads):
    """"문단을 가운데로 정렬하는 키가 뭐예요?": the key row that answers ("Ctrl+E: 가운데 맞춤")
    holds one of the rest's three words; held to a row's usual coverage (0.5) it is not a
    confident hit, and the page about alignment leads instead (SHAPE_COVERAGE)."""
    manuals = tmp_path / "manuals"
    manuals.mkdir()
    rows = "".join(f"<tr><td>{key}</td><td>{what}</td></tr>" for key, what in WRITER_KEYS)
    (manuals / "keys.html").write_text('<html lang="ko"><head><title>Writer 바로 가기 키</title></head><body>'
                                       '<h1 id="top">Writer 바로 가기 키</h1><table><tr><th>바로 가기 키</th><th>효과</th></tr>'
                                       f"{rows}</table></body></html>", encoding="utf-8")
    (manuals / "align.html").write_text('<html lang="ko"><head><title>문단 정렬</title></head><body><h1 id="top">문단 정렬'
                                        "</h1><p>문단을 왼쪽, 오른쪽, 가운데 또는 양쪽에 맞춥니다. 서식 - 정렬 메뉴에서 고릅니다."
                                        "</p></body></html>", encoding="utf-8")
    settings = make_settings(tmp_path / "storage", **({} if coverage is None else {"shape_coverage": coverage}))
    assert ingest([manuals], settings, progress=False).files.failed == 0
    first = Engine(settings).ask("문단을 가운데로 정렬하는 키가 뭐예요?", use_llm=False).contract()["answer"].split("\n")[0]
    assert first.startswith("바로 가기 키: Ctrl+E; 효과: 가운데 맞춤.") is leads, first
