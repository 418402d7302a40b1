"""Item text becomes a safe HTML subset; plain text stays readable; sanitizing is stable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from item_bank.sanitize import (
    _parse_and_clean,
    image_sources,
    is_blank,
    is_safe_media_name,
    normalize_whitespace,
    removals,
    remove_images,
    sanitize_html,
)


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<p>Soal<script>alert(document.cookie)</script></p>", "<p>Soal</p>"),
        ('<img src="media/a.png" onerror="alert(1)">', '<img src="media/a.png">'),
        ('<p style="color:red" onclick="x()">teks</p>', "<p>teks</p>"),
        ('<iframe src="https://evil.example"></iframe>sisa', "sisa"),
        ('<a href="javascript:alert(1)">tautan</a>', "tautan"),
        ("<svg onload=alert(1)><circle/></svg>padi", "padi"),
        ("<style>body{display:none}</style><b>tebal</b>", "<b>tebal</b>"),
        ("<!-- catatan penyusun --><i>miring</i>", "<i>miring</i>"),
        ("<form><input value=x></form>H<sub>2</sub>O", "H<sub>2</sub>O"),
    ],
)
def test_dangerous_markup_is_removed(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean


@pytest.mark.parametrize(
    "src",
    [
        "http://evil.example/a.png",
        "https://evil.example/a.png",
        "//evil.example/a.png",
        "/etc/passwd",
        "../../secret.png",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "C:\\images\\a.png",
        "media/a.png?x=1",
    ],
)
def test_images_from_outside_the_package_are_removed(src: str) -> None:
    clean = sanitize_html(f'<p>Lihat gambar</p><img src="{src}" alt="x">')
    assert clean == "<p>Lihat gambar</p>"
    assert image_sources(clean) == []


def test_allowed_subset_survives_with_allowed_attributes_only() -> None:
    html = (
        "<p>a<br><b>b</b><strong>c</strong><i>d</i><em>e</em><u>f</u>x<sub>2</sub>y<sup>3</sup>"
        '</p><ul><li>1</li></ul><ol><li>2</li></ol><table><thead><tr><th colspan="2">h</th>'
        '</tr></thead><tbody><tr><td rowspan="1">c</td></tr></tbody></table>'
        '<span>s</span><img src="media/fig 1.png" alt="Gambar" width="120" height="80">'
    )
    assert sanitize_html(html) == html


def test_image_size_attributes_must_be_numbers() -> None:
    clean = sanitize_html('<img src="a.png" width="100%" height="expression(alert(1))">')
    assert clean == '<img src="a.png">'


@pytest.mark.parametrize(
    ("plain", "shown"),
    [
        ("Jika x<y dan y>z, maka ...", "Jika x&lt;y dan y&gt;z, maka ..."),
        ("PT Kereta & Pos", "PT Kereta &amp; Pos"),
        ("a <= b", "a &lt;= b"),
        ("  spasi di tepi  ", "spasi di tepi"),
    ],
)
def test_plain_text_reads_as_written(plain: str, shown: str) -> None:
    assert sanitize_html(plain) == shown


def test_html_character_references_are_kept() -> None:
    assert sanitize_html("<p>5&nbsp;&gt;&nbsp;3 &amp; benar</p>") == (
        "<p>5&nbsp;&gt;&nbsp;3 &amp; benar</p>"
    )


def test_control_characters_are_dropped() -> None:
    assert sanitize_html("a\x00b\x07c\r\nd") == "abc<br>d"


CORPUS = [
    "<p>Soal</p>",
    "x < y & z",
    "<table><tr>x<td>1</td></tr></table>",
    "<b><i>tumpang</b> tindih</i>",
    "<p>a<p>b",
    "&amp;lt;b&amp;gt;",
    "<img src=media/a.png><img src=x onerror=y>",
    "<ul><li>satu<li>dua</ul>",
    "\u00a0 nbsp \u00a0",
    "<svg/onload=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<p>\n\n</p>",
]


@pytest.mark.parametrize("text", CORPUS)
def test_sanitizing_twice_changes_nothing(text: str) -> None:
    once = sanitize_html(text)
    assert sanitize_html(once) == once
    assert "<script" not in once.lower()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.sampled_from(
                [
                    "<p>",
                    "</p>",
                    "<b>",
                    "</b>",
                    "<br>",
                    "<img src=a.png>",
                    "<table>",
                    "<td>",
                    "<tr>",
                    "&amp;",
                    "&lt;",
                    "&nbsp;",
                    "<",
                    ">",
                    "&",
                    "<script>",
                    "</script>",
                    "<li>",
                    "<ul>",
                    "\r\n",
                    '"',
                    "<!--",
                    "-->",
                    "<span>",
                    "</span>",
                ]
            ),
        ),
        max_size=12,
    ).map("".join)
)
def test_sanitizing_is_idempotent_for_any_text(text: str) -> None:
    once = sanitize_html(text)
    assert sanitize_html(once) == once


def test_media_names() -> None:
    assert is_safe_media_name("media/tiu-fig-001.svg")
    assert is_safe_media_name("images/sign.png")
    assert is_safe_media_name("gambar soal 1.png")
    for bad in ["", "/a.png", "../a.png", "a/../../b.png", "http://x/a.png", "a\\b.png", "a//b"]:
        assert not is_safe_media_name(bad), bad


def test_image_sources_and_removal() -> None:
    clean = sanitize_html('<p>a</p><img src="m/1.png"><p>b<img src="m/2.png"></p>')
    assert image_sources(clean) == ["m/1.png", "m/2.png"]
    assert remove_images(clean, {"m/1.png"}) == '<p>a</p><p>b<img src="m/2.png"></p>'


@pytest.mark.parametrize(
    ("clean", "blank"),
    [("", True), ("<p></p>", True), ("<p>&nbsp;</p><br>", True), ("<p>a</p>", False)],
)
def test_blank_text(clean: str, blank: bool) -> None:
    assert is_blank(clean) is blank
    assert not is_blank('<img src="a.png">')


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.text(max_size=20))
def test_plain_text_shortcut_gives_what_the_parser_gives(text: str) -> None:
    # Text without markup characters skips the HTML parser; the result must not differ.
    assert sanitize_html(text) == _parse_and_clean(text)


def test_lone_surrogates_are_dropped() -> None:
    assert sanitize_html("a\ud800b <b>c\udfff</b>") == "ab <b>c</b>"


# MathML Core ---------------------------------------------------------------------------------


def test_mathml_core_is_kept() -> None:
    formula = (
        '<p>Jika <math display="block"><mfrac linethickness="0"><mi mathvariant="normal">a</mi>'
        '<mn>2</mn></mfrac><msqrt><mi>x</mi></msqrt><munderover><mo largeop="true">&#x2211;</mo>'
        '<mi>i</mi><mi>n</mi></munderover><mspace width="0.2em"></mspace>'
        '<semantics><mi>y</mi><annotation encoding="application/x-tex">y</annotation>'
        "</semantics></math> maka</p>"
    )
    clean = sanitize_html(formula)
    assert clean == formula.replace("&#x2211;", "\u2211")
    assert removals(formula) == []


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ("<math><mi>x</mi><script>alert(1)</script></math>", "<math><mi>x</mi></math>"),
        ('<math><mi href="javascript:alert(1)">x</mi></math>', "<math><mi>x</mi></math>"),
        (
            '<math><semantics><mi>x</mi><annotation-xml encoding="text/html">'
            "<img src=x onerror=alert(1)></annotation-xml></semantics></math>",
            "<math><semantics><mi>x</mi></semantics></math>",
        ),
        (
            '<math><mstyle mathbackground="url(https://evil.example)"><mi>x</mi></mstyle></math>',
            "<math><mstyle><mi>x</mi></mstyle></math>",
        ),
        (
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<math><mtext><table></table></mtext></math>",
        ),
        # MathML names outside <math> are no HTML: the text is shown as written.
        ("<mi>x</mi> di luar rumus", "&lt;mi&gt;x&lt;/mi&gt; di luar rumus"),
    ],
)
def test_mathml_outside_the_allow_list_never_runs(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty) == clean
    assert sanitize_html(clean) == clean


def test_a_formula_is_not_blank() -> None:
    assert not is_blank("<math><mn>0</mn></math>")


# Whitespace in one form ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        ("<p>a\n   b</p>\n\n  <p> c </p>", "<p>a b</p><p>c</p>"),
        ("<ul>\n <li> satu </li>\n <li>dua</li>\n</ul>", "<ul><li>satu</li><li>dua</li></ul>"),
        ("<p>x <b>tebal</b>  <i>miring</i></p>", "<p>x <b>tebal</b> <i>miring</i></p>"),
        ("<p>a <math>\n <mi> x </mi>\n</math> b</p>", "<p>a <math><mi>x</mi></math> b</p>"),
        ("baris satu\r\n  baris dua", "baris satu<br>baris dua"),
        ("spasi\u00a0\u00a0tetap", "spasi&nbsp;&nbsp;tetap"),
        ("  a \t b  ", "a b"),
    ],
)
def test_whitespace_is_stored_in_one_form(source: str, stored: str) -> None:
    assert sanitize_html(source) == stored
    assert normalize_whitespace(stored) == stored


# What would be removed ----------------------------------------------------------------------


def test_removals_name_what_a_candidate_would_miss_and_where() -> None:
    found = removals(
        '<div class="x"><p>Lihat<video src="v.mp4">v</video></p><img src="../a.png">'
        "<p><s>coret</s><math><mfenced><mi>a</mi></mfenced></math></p></div>"
    )
    assert [(r.path, r.lossy) for r in found] == [
        ("div", False),
        ("div/@class", False),
        ("div/p/video", True),
        ("div/img/@src", True),
        ("div/p[2]/s", True),
        ("div/p[2]/math/mfenced", True),
    ]


def test_plain_text_and_the_subset_have_nothing_to_remove() -> None:
    assert removals("x < y & y > 3") == []
    assert removals('<p>Soal <b>ini</b></p><img src="media/a.png" alt="a">') == []


def test_table_captions_and_footers_keep_their_place() -> None:
    table = (
        "<table><caption>Tabungan</caption><thead><tr><th>Bulan</th></tr></thead>"
        "<tfoot><tr><td>Jumlah</td></tr></tfoot><tbody><tr><td>Januari</td></tr></tbody></table>"
    )
    assert sanitize_html(table) == table
    assert removals(table) == []


def test_preformatted_text_would_lose_its_lines_and_is_named() -> None:
    (found,) = removals("<pre>for i in x:\n    print(i)</pre>")
    assert (found.path, found.what, found.lossy) == ("pre", "<pre>", True)
