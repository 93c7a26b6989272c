"""The extractive answer answers the kind of question asked: "how do I" leads with the
example or steps to follow, "it doesn't work / 안 돼요" with the requirement that was not
met, "difference between A and B" with a line about each side. Each fixture has a
neighbouring sentence that shares more words with the question than the answer does, so
these tests fail when the mechanism is switched off (query.extractive's CAUSE_BONUS,
PROCESS_BONUS, SIDE_MATCH set to 0)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from core.embedding import get_embed_model
from query.answer.extractive import WEIGHTS, entry_term, extractive_answer
from query.answer.question_kind import comparison_sides, question_kind
from query.answer.sections import Section
from tests.helpers import ranked_sections

MODES = """Settings › Power › Modes
Customers often ask which power mode they should pick, and the settings menu shows every mode of the device.
Eco mode lowers the fan speed and limits the processor to 1.2 GHz to save energy.
Turbo mode raises the processor to 2.4 GHz and keeps the fan at full speed.
The mode can be changed from the settings menu at any time, also while a job runs."""

MODES_KO = """설정 › 전원 › 모드
고객들이 어떤 전원 모드를 골라야 하는지 자주 묻습니다. 설정 메뉴에서 장치의 모든 모드를 볼 수 있습니다.
에코 모드는 팬 속도를 낮추고 프로세서를 1.2GHz로 제한하여 전력을 아낍니다.
터보 모드는 프로세서를 2.4GHz로 올리고 팬을 최고 속도로 유지합니다.
모드는 작업 중에도 설정 메뉴에서 언제든지 바꿀 수 있습니다."""

BACKUP = """Backup › Scheduled backups
Scheduled backups copy the shared folders to the external drive every night.
Scheduled backups run at 02:00 by default and keep the last seven copies of the shared folders.
The external drive must be formatted as exFAT, and the backup service must be switched on in the settings.
The backup log lists each copied folder with its size."""

BACKUP_KO = """백업 › 예약 백업
예약 백업은 매일 밤 공유 폴더를 외장 드라이브로 복사합니다.
예약 백업은 기본으로 새벽 2시에 실행되며 공유 폴더의 최근 사본 7개를 보관합니다.
외장 드라이브가 exFAT으로 포맷되어 있어야 하고 설정에서 백업 서비스가 켜져 있어야 합니다.
백업 기록에는 복사한 폴더와 크기가 나옵니다."""

ADDRESS = """Network › Fixed address
By default the device gets a new address from the network's DHCP server each time it starts.
To set it, run this on the console:
netcfg set eth0 address 192.168.10.20/24
The new address takes effect after the next restart."""

REMOTE = """Remote control › Pairing
After you change the batteries, the set-top box no longer reacts to the remote control until you pair them again.
Pairing the remote control takes about ten seconds. Pair it as follows:
1. Hold the remote within one metre of the box.
2. Press HOME and OK together for five seconds.
3. Wait for the message "Remote paired" on the screen.
The remote works up to eight metres from the set-top box once paired."""

SERVICES_KO = """시스템 › 서비스 › 자동 시작
장치를 켜면 설치된 서비스가 모두 자동으로 시작되며, 서비스마다 시작 순서가 정해져 있습니다.
부팅할 때 특정 서비스가 시작되지 않게 하려면 패키지를 지우는 대신 실행할 수 있는 명령
svcctl disable 서비스이름
입니다. 다시 켜려면 enable을 씁니다.
서비스 목록은 관리 화면의 서비스 메뉴에서 볼 수 있습니다."""

UNDO = """Editing › Undo › Limits
Most changes to a document can be undone from the Edit menu, and the undo history keeps the last fifty changes.
A few changes to a document cannot be undone:
Closing the document: the undo history belongs to the open document and is freed with it.
Reverting to the saved file: the editor reloads the file, so the history starts again.
Changing the page size of a document can be undone like any other change."""


def _sections(text: str) -> list[Section]:
    node = TextNode(text=text, metadata={"path": "guide.html", "anchor": "a", "heading": text.split("\n")[0]})
    return [Section("guide.html#a", [NodeWithScore(node=node, score=1.0)], 1.0)]


def _entries(answer: str) -> list[str]:
    """The answer's entries (a sentence, or a sentence with its example), each ending in [n]."""
    return [entry for entry in answer.split(" [1]\n") if entry]


@pytest.mark.parametrize(("question", "text", "first", "second"), [
    ("What is the difference between Eco mode and Turbo mode?", MODES, "1.2 GHz", "2.4 GHz"),
    ("eco mode vs turbo mode", MODES, "1.2 GHz", "2.4 GHz"),
    ("How does Turbo mode differ from Eco mode?", MODES, "2.4 GHz", "1.2 GHz"),
    ("에코 모드와 터보 모드는 어떻게 다른가요?", MODES_KO, "1.2GHz", "2.4GHz"),
    ("터보 모드랑 에코 모드 차이", MODES_KO, "2.4GHz", "1.2GHz"),
])
def test_a_comparison_answer_leads_with_a_line_for_each_side(settings, question, text, first, second) -> None:
    entries = _entries(extractive_answer(question, _sections(text), get_embed_model(settings)))
    assert first in entries[0] and second in entries[1], entries


@pytest.mark.parametrize(("question", "text", "fact"), [
    ("I set up scheduled backups but they don't run at night, what am I missing?", BACKUP, "formatted as exFAT"),
    ("예약 백업을 설정했는데 밤에 실행이 안 돼요", BACKUP_KO, "exFAT으로 포맷되어 있어야"),
])
def test_a_failure_question_leads_with_the_requirement_not_met(settings, question, text, fact) -> None:
    entries = _entries(extractive_answer(question, _sections(text), get_embed_model(settings)))
    assert fact in entries[0], entries


def test_a_how_do_i_answer_leads_with_the_command_to_run(settings) -> None:
    answer = extractive_answer("How do I give the device a fixed address?", _sections(ADDRESS), get_embed_model(settings))
    first = _entries(answer)[0]
    assert "netcfg set eth0 address" in first, answer


def test_a_how_do_i_answer_leads_with_the_steps_together(settings) -> None:
    answer = extractive_answer("How do I pair the remote control with the set-top box again?", _sections(REMOTE),
                               get_embed_model(settings))
    first = _entries(answer)[0]
    assert "Pair it as follows:\n1. Hold the remote" in first and "2. Press HOME and OK" in first and "3. Wait" in first, answer


def test_a_stated_wish_is_answered_by_the_steps(settings) -> None:
    """"리모컨을 다시 연결하고 싶어요" asks how, without "how": the steps lead."""
    for question in ("I want to pair the remote control with the set-top box again.",
                     "리모컨을 셋톱박스에 다시 연결하고 싶어요"):
        assert question_kind(question).process, question
        answer = extractive_answer(question, _sections(REMOTE), get_embed_model(settings))
        assert "1. Hold the remote" in _entries(answer)[0], answer


@pytest.mark.parametrize(("question", "a", "b"), [
    ("What is the difference between the Basic and Premium plans?", "basic", "premium"),
    ("spot brush vs blur brush, which one for removing dust?", "spot", "blur"),
    ("Backup 명령은 Sync 명령과 어떤 점이 다른가요?", "backup", "sync"),
    ("파일 지울 때 delete랑 shred는 뭐가 달라요?", "delete", "shred"),
])
def test_comparison_sides_are_read_from_the_question(question, a, b) -> None:
    sides = comparison_sides(question)
    assert sides is not None and a in sides[0].phrase and b in sides[1].phrase


def test_kinds_are_told_apart() -> None:
    assert question_kind("How do I enable compression?").process
    assert not question_kind("새 버전이 릴리스된 뒤에는 어떻게 되나요?").process  # "what happens", not "how to"
    assert question_kind("The Move tool does not move my layer, what should I check?").cause
    assert question_kind("설정을 넣었는데 동작을 안 해요").cause
    sides = question_kind("What is the difference between A1 and B2?").sides
    assert sides and "a1" in sides[0].phrase.lower() and "b2" in sides[1].phrase.lower()
    assert not question_kind("Which port does the server listen on by default?").cause


def test_a_sentence_cut_by_a_command_is_shown_with_the_command(settings) -> None:
    """The sentence ends after the command line ("... 실행할 수 있는 명령 / svcctl ... / 입니다."):
    without the command it names nothing to run."""
    answer = extractive_answer("부팅할 때 서비스가 자동으로 안 뜨게 하려면 패키지를 지워야 하나요?",
                               _sections(SERVICES_KO), get_embed_model(settings))
    first = _entries(answer)[0]
    assert "실행할 수 있는 명령\nsvcctl disable 서비스이름\n입니다." in first, answer


def test_a_sentence_announcing_a_list_is_shown_with_its_items(settings) -> None:
    answer = extractive_answer("which changes can't be undone?", _sections(UNDO), get_embed_model(settings))
    first = _entries(answer)[0]
    assert first.startswith("A few changes to a document cannot be undone:\nClosing the document:"), answer
    assert "\nReverting to the saved file:" in first, answer


PARENTAL_KO = """셋톱박스 › 자녀 보호
자녀 보호 기능을 켜면 유료 VOD를 구매할 때 비밀번호를 입력해야 합니다. 셋톱박스의 초기 비밀번호는 0000입니다.
비밀번호를 잊어버린 고객은 명의자 본인 확인 후 초기화할 수 있습니다."""
PLANS_KO = """인터넷 › 요금제
기가 인터넷은 월 33,000원이며 약정 없이도 가입할 수 있습니다."""
SUSPENSION_KO = """절차 › 일시 정지
일시 정지는 다음 순서로 신청합니다.
1. 명의자 본인이 고객센터, 매장 또는 앱에서 정지를 신청합니다.
2. 정지 시작일과 종료 예정일을 정합니다.
3. 증빙 서류가 필요한 유형은 서류를 제출해야 정지가 확정됩니다."""


def test_a_lower_sources_procedure_does_not_lead_a_how_to_answer(settings) -> None:
    """"...못 사게 하려면 비밀번호 처음 값이 뭐예요?" reads as how-to; the fourth source's steps are
    another task's and come after the first source's lines (STEPS_SOURCES), where the
    procedure bonus put them above them."""
    question = "애들이 VOD를 마음대로 못 사게 하려면 비밀번호 처음 값이 뭐예요?"
    assert question_kind(question).process
    sections = ranked_sections(PARENTAL_KO, PLANS_KO, PLANS_KO.replace("기가", "광랜"), SUSPENSION_KO)
    answer = extractive_answer(question, sections, get_embed_model(settings))
    second_line = "초기화할 수 있습니다. [1]"
    assert "0000" in answer.split("\n")[0] and answer.index(second_line) < answer.index("1. 명의자 본인이"), answer
    anywhere = extractive_answer(question, sections, get_embed_model(settings), weights=replace(WEIGHTS, steps_sources=9))
    assert anywhere.index("1. 명의자 본인이") < anywhere.index(second_line), anywhere


ADMIN_KO = """공유기 › 계정 › 관리자 계정
관리자 계정으로 로그인하면 공유기의 모든 설정을 바꿀 수 있습니다.
관리자 계정은 설정을 바꿀 때만 쓰고, 평소에는 일반 계정으로 로그인해야 합니다.
늘 로그인해 둔 관리자 권한은 악성 웹페이지가 몰래 설정을 바꾸는 데 쓰일 수 있기 때문입니다.
일반 계정은 관리 화면의 사용자 메뉴에서 만듭니다."""


def test_why_questions_are_told_from_others() -> None:
    assert question_kind("평소에 관리자 계정으로 쓰면 왜 안 돼요?").reason
    assert question_kind("로그 순환 후 이전 로그파일을 바로 처리하면 안 되는 이유").reason
    assert question_kind("Why do I get the wrong colour when painting on an indexed image?").reason
    assert not question_kind("How do I reset the router?").reason
    assert not question_kind("관리자 계정은 어디서 만들어요?").reason


def test_a_why_question_gives_the_reason_before_what_it_restates(settings) -> None:
    """"왜 안 돼요" is answered by the sentence stating the reason (...기 때문입니다); the one
    saying what an administrator can do shares more of the question's words (REASON_BONUS)."""
    question = "평소에 관리자 계정으로 쓰면 왜 안 돼요?"
    reason, restated = "악성 웹페이지가", "모든 설정을 바꿀 수 있습니다"
    answer = extractive_answer(question, _sections(ADMIN_KO), get_embed_model(settings))
    assert reason in answer and answer.index(reason) < answer.index(restated), answer
    without = extractive_answer(question, _sections(ADMIN_KO), get_embed_model(settings),
                                weights=replace(WEIGHTS, reason_bonus=0))
    assert without.index(restated) < without.index(reason), without


CGI_VARIABLES_KO = """환경변수 › CGI 변수
서버는 요청마다 여러 환경변수를 CGI 스크립트에 넘깁니다.
REMOTE_USER: 인증을 거친 요청에서만 설정됩니다.
REMOTE_HOST: HostnameLookups가 켜져 있고 역DNS 검색으로 이름을 찾은 경우에만 채워집니다.
CGI 스크립트에 넘기는 환경변수는 설정 파일에서 더 추가할 수 있으며, 추가한 환경변수도 요청마다 설정됩니다."""


def test_a_question_naming_a_term_leads_with_the_entry_defining_it(settings) -> None:
    """"REMOTE_HOST 환경변수는 언제 설정돼요?": the entry "REMOTE_HOST: ..." answers; the
    sentences about CGI variables in general share more of the question's other words
    (NAMED_ENTRY_BONUS)."""
    question = "CGI 스크립트의 REMOTE_HOST 환경변수는 언제 설정돼요?"
    entries = _entries(extractive_answer(question, _sections(CGI_VARIABLES_KO), get_embed_model(settings)))
    assert entries[0].startswith("REMOTE_HOST:"), entries
    without = _entries(extractive_answer(question, _sections(CGI_VARIABLES_KO), get_embed_model(settings),
                                         weights=replace(WEIGHTS, named_entry_bonus=0)))
    assert not without[0].startswith("REMOTE_HOST:"), without


@pytest.mark.parametrize("line, term", [
    ("Monthly fee: KRW 9,900", "monthly fee"),  # a table row read as "key: value"
    ("REMOTE_HOST: 이 변수는 역DNS 검색으로 이름을 찾은 경우에만 채워집니다.", "remote_host"),
    ("• purge - removes the package and its configuration files", "purge"),  # a list item
    ("• 초기화: 모든 설정과 녹화물을 지웁니다.", "초기화"),  # a list item with a colon
    ("keymap: keyboard-configuration/xkb-keymap.", "keymap"),
    ("When the package is purged, its files go too.", ""),  # a sentence naming it in passing
    ("See http://example.com for more", ""),  # a colon inside a word is no entry
])
def test_an_entry_is_read_the_same_for_rows_terms_and_sides(line, term) -> None:
    """One reading of "what does this line define" for the asked field's row, a named term's
    entry and a compared side's own item (extractive.entry_term)."""
    assert entry_term(line) == term
    # The asked field's row is a table row: no bullet, and its key ends at a colon, not at a dash.
    assert entry_term(line, row=True) == (term if ":" in line and not line.startswith("•") else "")


def test_the_retrieval_reads_the_question_kind_its_answer_uses(settings, tmp_path) -> None:
    """The procedure prior (retrieval) and the extractive answer read one Kind, with the
    profile's word lists: a deployment's profile applies to both."""
    from ingest.run import ingest
    from query.answer.engine import Engine
    from query.answer.words import load_words

    manuals = tmp_path / "manuals"
    manuals.mkdir()
    (manuals / "a.html").write_text('<html lang="en"><head><title>Eco mode</title></head><body><h1 id="t">Eco mode</h1>'
                                    "<ol><li>Open Settings.</li><li>Choose Eco.</li></ol></body></html>", encoding="utf-8")
    store = settings.model_copy(update={"storage_dir": tmp_path / "storage"})
    assert ingest([manuals], store, progress=False).files.failed == 0
    engine = Engine(store)
    question = "How do I turn on eco mode?"
    with engine.live.use() as retriever:
        kind = retriever.retrieve(question, 3).kind
    assert kind == question_kind(question, load_words(store.field_profile)) and kind.process
