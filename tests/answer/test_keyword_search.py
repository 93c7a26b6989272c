"""A section is found by the index keywords its authors gave it (`<meta itemprop="keywords">`),
words its heading and text never use: the caller's words for a page titled by its menu name."""

from __future__ import annotations

from pathlib import Path

from ingest.run import ingest
from query.answer.engine import Engine
from tests.helpers import make_settings

# (file, heading, index keywords, text)
PAGES = [
    ("autosave.html", "자동 복구 정보 저장", "정전; 문서 되살리기, 갑자기 꺼짐; 복구",
     "복구 정보 저장 간격을 분 단위로 지정합니다. 지정한 간격마다 열려 있는 모든 문서의 복구 정보가 저장되고, "
     "다음에 실행할 때 복구 대화 상자가 열립니다."),
    ("open.html", "문서 열기", "",
     "파일 메뉴에서 열기를 고르고 문서를 선택합니다. 최근 문서 목록에서 다시 열 수도 있습니다. 손상된 문서는 읽기 전용으로 열립니다."),
    ("print.html", "문서 인쇄", "", "파일 메뉴에서 인쇄를 고르면 문서를 인쇄합니다. 인쇄 범위와 매수를 지정할 수 있습니다."),
    ("save.html", "다른 이름으로 저장", "", "문서를 새 이름이나 다른 형식으로 저장합니다. 저장할 때 암호를 지정할 수도 있습니다."),
    ("power.html", "전원 관리 설정", "", "노트북의 배터리 사용 시간을 늘리려면 화면 밝기를 낮추고 절전 모드를 켭니다."),
]


def _manuals(root: Path) -> Path:
    root.mkdir(parents=True)
    for name, heading, keywords, text in PAGES:
        metas = "".join(f'<meta itemprop="keywords" content="{k.strip()}">' for k in keywords.split(",") if k.strip())
        (root / name).write_text(f'<html lang="ko"><head><title>{heading}</title></head><body><div>{metas}'
                                 f'<h1 id="top">{heading}</h1><p>{text}</p></div></body></html>', encoding="utf-8")
    return root


def test_a_section_is_found_by_its_index_keywords(tmp_path):
    settings = make_settings(tmp_path / "storage")
    assert ingest([_manuals(tmp_path / "manuals")], settings, progress=False).files.failed == 0
    engine = Engine(settings)
    for question in ("정전 대비", "갑자기 꺼짐"):  # only the autosave topic's keywords say these
        sources = engine.ask(question, use_llm=False).contract()["sources"]
        assert sources[0]["url"] == "autosave.html#top", (question, [s["url"] for s in sources])
        answer = engine.ask(question, use_llm=False).contract()["answer"]
        assert "정전" not in answer and "꺼짐" not in answer  # keywords find the place; the page's text answers


def test_the_answer_leads_with_the_section_its_keywords_name(tmp_path):
    """Ranked second, the autosave topic still answers: its keywords name the question's
    words, which no line of its text does, while the first source's lines share "문서"."""
    settings = make_settings(tmp_path / "storage")
    assert ingest([_manuals(tmp_path / "manuals")], settings, progress=False).files.failed == 0
    for question in ("갑자기 꺼짐", "정전이 나서 날린 문서를 되살릴 수 있나요?"):
        result = Engine(settings).ask(question, use_llm=False).contract()
        place = next(i for i, s in enumerate(result["sources"], start=1) if s["url"] == "autosave.html#top")
        assert place <= 2
        assert result["answer"].split("\n")[0].endswith(f"[{place}]"), (question, result["answer"])
