"""Upload errors stay visible: a bad file after a good one is reported in an open section, as plain text."""

from __future__ import annotations

import re

from tests.apptest import new_app, upload

GOOD = b"a,b,kind\n1,2,x\n2,3,y\n3,5,x\n4,4,y\n5,1,x\n"
INF = b"a,b,kind\n1,2,x\n2,inf,y\n3,5,x\n4,4,y\n"
HOSTILE = (b"[x](http://e),=cmd|' /C calc'!A0,kind\n1,2,$$x$$\n2,3,<a href=x>y</a>\n3,5,$$x$$\n"
           b"4,4,<a href=x>y</a>\n")


def _upload_section(at):
    return next(e for e in at.expander if "Upload your own CSV" in e.proto.label)


def test_a_bad_file_after_a_good_one_is_reported_in_the_open_section():
    at = upload(new_app("pages/data.py"), "csv_upload", "good.csv", GOOD)
    at.run()  # the good file's rerun: its success message
    assert _upload_section(at).proto.expanded
    at.run()  # a later run with the good file still in the uploader: still open
    assert _upload_section(at).proto.expanded
    upload(at, "csv_upload", "inf.csv", INF)
    section = _upload_section(at)
    assert section.proto.expanded
    messages = [e.value for e in section.error]
    assert any("column 'b' holds 'inf' in data row 2" in m and "previous dataset is still in use" in m
               for m in messages), messages


def test_column_names_and_labels_from_a_file_are_plain_text_on_the_data_page():
    at = upload(new_app("pages/data.py"), "csv_upload", "hostile.csv", HOSTILE)
    at.run()
    sources = [m.proto.body for m in at.markdown] + [c.proto.body for c in at.caption]
    # The task's label line and the column's bold name carry the text escaped (a browser shows it as typed).
    assert any("\\$\\$x\\$\\$" in s and "\\<a href\\=x\\>y\\</a\\>" in s for s in sources), sources
    assert not any(re.search(r"(?<!\\)(\]\(http|<a href|\$\$)", s) for s in sources)  # nothing unescaped
