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


# A help tree shaped like LibreOffice's (its online_transform.xsl): one text for three
# programs, chrome around the article, index entries as keyword metas before the heading,
# the reader's system chosen by script among hidden alternatives.
LO_PAGE = """<!DOCTYPE html><html lang="ko"><head><title>{title}</title><script src="help.js" defer=""></script></head>
<body><meta itemprop="version" content="24.8"/>
<div class="header-extrawurst"><header><a class="logo" href="index.html"><p>LibreOffice 도움말</p></a></header>
<div class="modules"><input id="modules" type="checkbox"/><label for="modules">모듈</label><nav id="modules-nav"></nav></div></div>
<aside class="leftside"><div class="index-label">색인</div><input class="search" placeholder="모든 모듈 검색"/></aside>
<div id="DisplayArea" itemprop="articleBody"><a name="bm_id1"></a>{keywords}<h1 id="hd_id1">{title}</h1>
<p class="paragraph">{text}</p><div class="howtoget"><div><p class="howtogetheader">이 명령을 사용하려면...</p></div>
<div class="howtogetbody"><p><span class="menuitem">{menu}</span> 선택</p></div></div></div>
<div class="donation"><p><a href="https://www.libreoffice.org/donate/">도움말이 도움이 되었나요? 기부해 주세요!</a></p></div>
<footer><p>Impressum (Legal Info) | Privacy Policy</p></footer></body></html>"""
MAC_OR_PC = '<span class="switchinline"><span hidden="true" class="MAC">{mac}</span><span hidden="true">{pc}</span></span>'
LO_TOPICS = [
    ("autosave", "자동 복구 정보 저장", ["정전, 문서 되살리기", "백업, 자동"],
     "복구 정보 저장 간격을 분 단위로 지정합니다. 지정한 간격마다 열려 있는 모든 문서의 복구 정보가 저장됩니다.",
     MAC_OR_PC.format(mac="LibreOffice - 기본 설정", pc="도구 - 옵션") + " - 불러오기/저장 - 일반"),
    ("save", "문서 저장", ["저장, 문서"], "문서를 저장하려면 " + MAC_OR_PC.format(mac="⌘ Cmd", pc="Ctrl") + "+S 키를 누릅니다.",
     "파일 - 저장"),
    ("print", "문서 인쇄", ["인쇄, 문서"], "파일 메뉴에서 인쇄를 고르면 문서를 인쇄합니다. 인쇄 범위와 매수를 지정할 수 있습니다.",
     "파일 - 인쇄"),
    ("open", "문서 열기", ["열기, 문서"], "파일 메뉴에서 열기를 고르고 문서를 선택합니다. 손상된 문서는 읽기 전용으로 열립니다.",
     "파일 - 열기"),
]


def test_a_help_tree_for_three_programs_is_searched_by_its_index_entries(tmp_path):
    root = tmp_path / "help"
    for program in ("swriter", "scalc", "simpress"):
        for name, title, entries, text, menu in LO_TOPICS:
            page = root / "text" / program / "guide" / f"{name}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            keywords = "".join(f'<meta itemprop="keywords" content="{e}"/>' for e in entries)
            page.write_text(LO_PAGE.format(title=title, keywords=keywords, text=text, menu=menu), encoding="utf-8")
    settings = make_settings(tmp_path / "storage")
    assert ingest([root], settings, progress=False).files.failed == 0
    engine = Engine(settings)
    result = engine.ask("캘크에서 정전 대비는 어떻게 해요?", use_llm=False).contract()
    first = result["sources"][0]
    assert first["url"] == "text/scalc/guide/autosave.html#hd_id1" and len(first["also"]) == 2  # Calc's copy, the others listed
    assert result["answer"].split("\n")[0].endswith("[1]") and "복구 정보" in result["answer"]
    assert "LibreOffice - 기본 설정 / 도구 - 옵션 - 불러오기/저장 - 일반" in result["answer"]  # both systems' menu, apart
    keys = engine.ask("저장 단축키", use_llm=False).contract()["answer"]
    assert "⌘ Cmd / Ctrl+S" in keys.split("\n")[0]
    assert not any(chrome in a for a in (result["answer"], keys) for chrome in ("모듈", "기부", "Impressum", "색인"))
