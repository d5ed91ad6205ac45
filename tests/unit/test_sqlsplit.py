"""The dbscript splitter: every case that breaks a naive split on ';'."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizard.db.sqlsplit import split_sql

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "wso2-conf" / "apim-2.6.0"


def texts(sql: str) -> list[str]:
    return [s.text for s in split_sql(sql)]


def test_plain_statements_and_last_without_delimiter():
    assert texts("SELECT 1;\nSELECT 2;\n\nSELECT 3") == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_dash_dash_comment_needs_whitespace_after_it():
    sql = "-- CREATE TABLE gone (a INT);\nSELECT 1--2;\nSELECT 3 --\n;\nSELECT 4 -- tail;\n;"
    assert texts(sql) == ["SELECT 1--2", "SELECT 3", "SELECT 4"]


def test_dash_dash_at_end_of_text_and_tab():
    assert texts("SELECT 1;\n--\tDROP TABLE x;\n--") == ["SELECT 1"]


def test_hash_comment():
    assert texts("# DROP DATABASE x;\nSELECT 1; # trailing; comment\nSELECT 2;") == [
        "SELECT 1",
        "SELECT 2",
    ]


def test_block_comments_dropped_executable_comments_kept():
    sql = "/* DROP TABLE a; */ SELECT /* ; */ 1;\n/*!40101 SET NAMES utf8 */;\nSELECT /*+ NO_ICP(t) */ 2;"
    assert texts(sql) == ["SELECT   1", "/*!40101 SET NAMES utf8 */", "SELECT /*+ NO_ICP(t) */ 2"]


def test_mariadb_executable_comment_kept():
    assert texts("/*M!100101 SET x=1 */;") == ["/*M!100101 SET x=1 */"]


def test_multiline_block_comment_with_semicolons():
    sql = "/*\n CREATE TABLE a (x INT);\n DROP TABLE b;\n*/\nCREATE TABLE c (y INT);"
    stmts = split_sql(sql)
    assert [s.text for s in stmts] == ["CREATE TABLE c (y INT)"]
    assert stmts[0].line == 5


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 'a;b';", "SELECT 'a;b'"),
        ("SELECT 'it''s;';", "SELECT 'it''s;'"),
        ("SELECT 'back\\'slash;';", "SELECT 'back\\'slash;'"),
        ('SELECT "dq;\\";x";', 'SELECT "dq;\\";x"'),
        ('SELECT "a""b;";', 'SELECT "a""b;"'),
        ("SELECT `we;ird``name`;", "SELECT `we;ird``name`"),
        ("SELECT '-- not a comment;', '# nor this;', '/* nor; */';", None),
        ("SELECT 'ends with backslash\\\\';", "SELECT 'ends with backslash\\\\'"),
    ],
)
def test_quotes_hide_semicolons_and_comments(sql, expected):
    assert texts(sql + "\nSELECT 2;") == [expected or sql[:-1], "SELECT 2"]


def test_backtick_does_not_take_backslash_escape():
    # In identifiers a backslash is an ordinary character: `a\` ends at the backtick.
    assert texts("SELECT `a\\`; SELECT 2;") == ["SELECT `a\\`", "SELECT 2"]


def test_delimiter_blocks():
    sql = (
        "SELECT 0;\n"
        "DELIMITER //\n"
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1; -- inner;\n  SELECT 'x//y';\nEND//\n"
        "delimiter ;\n"
        "SELECT 2;\n"
        "DELIMITER $$\nCREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET @x = 1; END$$\n"
        "DELIMITER ;\n"
    )
    stmts = split_sql(sql)
    assert [s.text for s in stmts] == [
        "SELECT 0",
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1; \n  SELECT 'x//y';\nEND",
        "SELECT 2",
        "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET @x = 1; END",
    ]
    assert [s.line for s in stmts] == [1, 3, 9, 11]
    assert [s.index for s in stmts] == [1, 2, 3, 4]


def test_empty_statements_skipped_and_line_numbers():
    stmts = split_sql(";;\n\n  -- c\n  SELECT 1;\n;\n\nSELECT\n2;")
    assert [(s.index, s.line, s.text) for s in stmts] == [(1, 4, "SELECT 1"), (2, 7, "SELECT\n2")]


def test_crlf_line_endings():
    stmts = split_sql("-- c;\r\nSELECT 1;\r\n# d;\r\nSELECT 2;\r\n")
    assert [(s.line, s.text) for s in stmts] == [(2, "SELECT 1"), (4, "SELECT 2")]


def test_excerpt_is_one_line_and_cut():
    (stmt,) = split_sql("CREATE TABLE t (\n  a INT,\n  b " + "x" * 300 + ");")
    assert "\n" not in stmt.excerpt()
    assert len(stmt.excerpt(80)) == 80 and stmt.excerpt(80).endswith("...")


@pytest.mark.parametrize(
    ("rel", "statements", "tables"),
    [
        ("dbscripts/mysql.sql", 76, 40),
        ("dbscripts/mysql5.7.sql", 76, 40),
        ("dbscripts/apimgt/mysql.sql", 174, 124),
        ("dbscripts/apimgt/mysql5.7.sql", 176, 124),
    ],
)
def test_stock_260_scripts(rel, statements, tables):
    path = SHARED / rel
    if not path.is_file():
        pytest.skip("../shared/wso2-conf is not present")
    stmts = split_sql(path.read_text(encoding="utf-8"))
    assert len(stmts) == statements
    created = [s for s in stmts if re.match(r"CREATE\s+TABLE", s.text, re.I)]
    assert len(created) == tables
    # the commented-out DDL (mysql.sql comment block ending in ';') never becomes a statement
    assert not any(s.text.startswith("--") or "\n--" in s.text for s in stmts)
    for s in stmts:  # each reported line really is where the statement starts
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[s.line - 1].strip().startswith(s.text.split()[0])


# --- property: statements joined with ';' and random comments split back ---------------

_word = st.sampled_from(["SELECT", "a", "b1", "FROM", "t", "=", "(", ")", ",", "1", "x.y"])
_quoted = st.builds(
    lambda q, body: q + body.replace("\\", "\\\\").replace(q, q + q) + q,
    st.sampled_from(["'", '"', "`"]),
    st.text(alphabet="ab;-#/*' \"`\\\n", max_size=12),
)
_token = st.one_of(_word, _quoted, st.just("/*!40101 x */"))
_statement = st.lists(_token, min_size=1, max_size=6)
_gap = st.sampled_from([" ", "\n", "  ", " /* c; */ ", " -- c;\n", " # c;\n", "\n/* a\n;b */\n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_statement, st.lists(_gap, min_size=6, max_size=6)), max_size=6), _gap)
def test_roundtrip_with_random_comments(statements, lead):
    parts: list[str] = [lead]
    expected: list[tuple[list[str], int]] = []
    for tokens, gaps in statements:
        start_line = "".join(parts).count("\n") + 1
        body = tokens[0]
        for tok, gap in zip(tokens[1:], gaps, strict=False):
            body += gap + tok
        parts.append(body + gaps[-1] + ";" + gaps[-2])
        expected.append((tokens, start_line))
    got = split_sql("".join(parts))
    assert len(got) == len(expected)
    for stmt, (tokens, line) in zip(got, expected, strict=True):
        pattern = r"\s+".join(re.escape(t) for t in tokens)
        assert re.fullmatch(pattern, stmt.text), (stmt.text, tokens)
        assert stmt.line == line
