"""Move the planner's messages still written in Python into the catalogue (``geo/locale/*.toml``); say what is left.

Run from the project's root; running it again changes nothing (idempotent)::

    python tools/i18n_migrate.py            # move notes and errors, then report what is left
    python tools/i18n_migrate.py --raises   # also turn old-style ``raise InputError("english ...")`` into keys
    python tools/i18n_migrate.py --check    # change nothing; exit 1 if anything is left to move
    python tools/i18n_migrate.py --branches i26-data i27-bounds   # each branch's note_/err_ words all here?

What it moves (mechanical, no words are changed):

- ``quarterhour/i18n.py``'s ``_TEXT`` entries ``note_<key>`` (Chinese, English) and ``geo/notes.py``'s
  ``NOTES_EN`` entries -> ``[notes]`` of ``zh.toml`` / ``en.toml``; the Python entries are deleted.
- ``_TEXT`` entries ``err_<key>`` -> ``[errors.<key>] message`` (the whole sentence, fix included).

With ``--raises``, each ``[raise] InputError(<str or f-string>, ..., fix=<str or f-string>)`` becomes
``raise InputError("<module>_<words>", ..., <name>=<expression>)``: each ``{expression}`` of the f-strings becomes
a placeholder, the English goes to ``en.toml`` as it was written. The Chinese cannot be made mechanically: those
keys are listed, and ``tests/test_words.py`` fails until ``zh.toml`` has them.

What it reports: old-style sites left (a message that is not a key: a variable, a call, a sum of strings),
keys of one language only.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "geo" / "locale"
I18N = ROOT / "quarterhour" / "i18n.py"
NOTES = ROOT / "geo" / "notes.py"
PACKAGES = ("geo", "analysis", "quarterhour")
_ERROR_CLASSES = {"InputError", "WorkspaceError", "NotAllowed", "InfeasibleError", "StaleVersion"}
_STOP = {"the", "a", "an", "is", "are", "of", "in", "on", "to", "and", "or", "be", "as", "by", "for", "its", "it"}


def toml_str(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def load(lang: str) -> dict:
    """The catalogue of ``lang`` as it is on disk."""
    with (LOCALE / f"{lang}.toml").open("rb") as f:
        return tomllib.load(f)


def insert_in_section(lang: str, section: str, lines: list[str]) -> None:
    """Put ``lines`` at the end of ``[section]`` (before the next table's header)."""
    path = LOCALE / f"{lang}.toml"
    text = path.read_text(encoding="utf-8").splitlines()
    start = text.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("[")), len(text))
    while end > start + 1 and not text[end - 1].strip():
        end -= 1
    text[end:end] = lines
    path.write_text("\n".join(text) + "\n", encoding="utf-8")


def append_errors(lang: str, entries: dict[str, dict[str, str]]) -> None:
    """Add ``[errors.<key>]`` tables at the end of the catalogue."""
    if not entries:
        return
    path = LOCALE / f"{lang}.toml"
    out = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    for key, parts in entries.items():
        out += f"\n[errors.{key}]\n" + "".join(f"{k} = {toml_str(v)}\n" for k, v in parts.items())
    path.write_text(out, encoding="utf-8")


def dict_items(path: Path, name: str) -> list[tuple[str, object, int, int]]:
    """The (key, value, first line, last line) of the dict literal assigned to ``name`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0] if isinstance(node, ast.Assign) else None)
        )
        if isinstance(target, ast.Name) and target.id == name and isinstance(node.value, ast.Dict):
            return [
                (ast.literal_eval(k), ast.literal_eval(v), k.lineno, v.end_lineno)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
            ]
    return []


def delete_lines(path: Path, spans: list[tuple[int, int]]) -> None:
    """Delete the 1-based line ranges ``spans`` (each a whole dict entry, with its trailing comma)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for first, last in sorted(spans, reverse=True):
        end = last
        if end < len(lines) and lines[end].strip() in {"),", ","}:  # a closing bracket of the entry's value
            end += 1
        del lines[first - 1 : end]
    path.write_text("".join(lines), encoding="utf-8")


def move_tables(dry: bool) -> list[str]:
    """Move ``note_*``/``err_*`` of ``_TEXT`` and ``NOTES_EN`` into the catalogue; the moved keys."""
    zh_cat, en_cat = load("zh"), load("en")
    text_items = dict_items(I18N, "_TEXT")
    notes_items = dict_items(NOTES, "NOTES_EN")
    text = {k: v for k, v, _, _ in text_items}
    notes_en = {k: v for k, v, _, _ in notes_items}
    new_notes: dict[str, tuple[str, str]] = {}
    new_errors: dict[str, tuple[str, str]] = {}
    moved, del_text, del_notes = [], [], []
    for key, value, first, last in text_items:
        if key.startswith("note_"):
            name = key.removeprefix("note_")
            if name not in en_cat["notes"]:
                new_notes[name] = (value[0], notes_en.get(name, value[1]))
            moved.append(key)
            del_text.append((first, last))
        elif key.startswith("err_"):
            name = key.removeprefix("err_")
            if name not in en_cat.get("errors", {}):
                new_errors[name] = value
            moved.append(key)
            del_text.append((first, last))
    for key, _value, first, last in notes_items:
        if key not in en_cat["notes"] and key not in new_notes and f"note_{key}" not in text:
            print(f"note '{key}' has English only (geo/notes.py): left in NOTES_EN", file=sys.stderr)
            continue
        moved.append(f"NOTES_EN[{key}]")
        del_notes.append((first, last))
    if dry:
        return moved
    if new_notes:
        insert_in_section("zh", "notes", [f"{k} = {toml_str(zh)}" for k, (zh, _) in new_notes.items()])
        insert_in_section("en", "notes", [f"{k} = {toml_str(en)}" for k, (_, en) in new_notes.items()])
    append_errors("zh", {k: {"message": zh} for k, (zh, _) in new_errors.items()})
    append_errors("en", {k: {"message": en} for k, (_, en) in new_errors.items()})
    if del_text:
        delete_lines(I18N, del_text)
    if del_notes:
        delete_lines(NOTES, del_notes)
    del zh_cat
    return moved


# old-style raises -----------------------------------------------------------------------------------------------
def _error_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in _ERROR_CLASSES:
            yield node


def old_style_sites(keys: set[str]) -> list[str]:
    """``file:line: text`` of each error made with an English sentence (or a variable) rather than a key."""
    left = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _error_calls(tree):
                if not call.args:
                    continue
                first = call.args[0]
                choices = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]  # a or b
                if all(isinstance(c, ast.Constant) and c.value in keys for c in choices):
                    continue
                if isinstance(first, ast.Call) and getattr(first.func, "id", None) == "t":
                    continue  # words of quarterhour.i18n, already in the planner's language
                if isinstance(first, ast.Name) and any(k.arg is None for k in call.keywords):
                    continue  # a key and its values handed on (InputError(key, **values))
                rel = path.relative_to(ROOT)
                left.append(f"{rel}:{call.lineno}: {ast.unparse(first)[:90]}")
    return left


def _slug(text: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP]
    return "_".join(words[:4]) or "error"


def _name_of(expr: ast.expr, taken: dict[str, str], text: str) -> str:
    if isinstance(expr, ast.Name):
        base = expr.id
    elif isinstance(expr, ast.Attribute):
        base = expr.attr
    elif isinstance(expr, ast.Call) and expr.args and isinstance(expr.args[0], (ast.Name, ast.Attribute)):
        inner = expr.args[0]
        base = inner.id if isinstance(inner, ast.Name) else inner.attr
    else:
        base = "_".join(re.findall(r"[a-z0-9]+", text.lower())[:3]) or "value"
    base = base.strip("_").lower() or "value"
    if base[0].isdigit():
        base = f"v{base}"
    if base in {"file", "row", "column", "fix", "problem", "self", "key", "lang"}:
        base = f"{base}_value"
    name, i = base, 2
    while name in taken and taken[name] != text:
        name, i = f"{base}{i}", i + 1
    taken[name] = text
    return name


def _template(node: ast.expr, taken: dict[str, str], consts: dict[str, str]) -> str | None:
    """The ``str.format`` template of a string or f-string; None if it is neither."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.Name) and node.id in consts:
        return consts[node.id].replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    out = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        spec = ""
        if part.format_spec is not None:
            if not all(isinstance(p, ast.Constant) for p in part.format_spec.values):
                return None
            spec = ":" + "".join(p.value for p in part.format_spec.values)
        conv = {-1: "", 114: "!r", 115: "!s", 97: "!a"}[part.conversion]
        text = ast.unparse(part.value)
        out.append("{" + _name_of(part.value, taken, text) + conv + spec + "}")
    return "".join(out)


def convert_raises(keys: set[str], dry: bool) -> dict[str, dict[str, str]]:
    """Turn old-style ``raise InputError(...)`` with (f-)string words into keys; the new English entries."""
    new: dict[str, dict[str, str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
            consts = {
                n.targets[0].id: n.value.value
                for n in tree.body
                if isinstance(n, ast.Assign)
                and isinstance(n.targets[0], ast.Name)
                and isinstance(n.value, ast.Constant)
                and isinstance(n.value.value, str)
            }
            edits = []
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):  # raised, or returned to be raised by the caller
                    continue
                call = node
                if getattr(call.func, "id", None) not in _ERROR_CLASSES or not call.args:
                    continue
                if isinstance(call.args[0], ast.Constant) and call.args[0].value in keys:
                    continue
                taken: dict[str, str] = {}
                problem = _template(call.args[0], taken, consts)
                fix_kw = next((k for k in call.keywords if k.arg == "fix"), None)
                fix = _template(fix_kw.value, taken, consts) if fix_kw else None
                if problem is None or (fix_kw is not None and fix is None) or any(k.arg is None for k in call.keywords):
                    continue
                stem = path.stem.lstrip("_")
                key = f"{stem}_{_slug(problem)}"
                i = 2
                while key in keys or key in new:
                    key, i = f"{stem}_{_slug(problem)}_{i}", i + 1
                entry = {"problem": problem}
                if fix is not None:
                    entry["fix"] = fix
                new[key] = entry
                keys.add(key)
                kws = [f"{k.arg}={ast.unparse(k.value)}" for k in call.keywords if k.arg != "fix"]
                kws += [f"{name}={text}" for name, text in taken.items()]
                edits.append((call, f"{call.func.id}({', '.join([json.dumps(key), *kws])})"))
            if edits and not dry:
                lines = source.splitlines(keepends=True)
                offsets = [0]
                for line in lines:
                    offsets.append(offsets[-1] + len(line.encode("utf-8")))
                data = source.encode("utf-8")
                for call, text in sorted(edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True):
                    start = offsets[call.lineno - 1] + call.col_offset
                    end = offsets[call.end_lineno - 1] + call.end_col_offset
                    data = data[:start] + text.encode("utf-8") + data[end:]
                path.write_text(data.decode("utf-8"), encoding="utf-8")
    if not dry:
        append_errors("en", new)
    return new


def branch_words_missing(branch: str) -> list[str]:
    """The ``note_``/``err_`` entries of ``branch``'s Python tables found neither in ours nor in the catalogue."""
    missing = []
    ours = {k: v for k, v, _, _ in dict_items(I18N, "_TEXT")}
    zh, en = load("zh"), load("en")
    for rel, name in (("quarterhour/i18n.py", "_TEXT"), ("geo/notes.py", "NOTES_EN")):
        shown = subprocess.run(["git", "show", f"{branch}:{rel}"], capture_output=True, text=True, cwd=ROOT)
        if shown.returncode:
            missing.append(f"{branch}: cannot read {rel}")
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as f:
            f.write(shown.stdout)
        try:
            items = dict_items(Path(f.name), name)
        finally:
            Path(f.name).unlink()
        for key, value, _, _ in items:
            if name == "NOTES_EN":
                found = en["notes"].get(key) == value or ours.get(f"note_{key}", ("", ""))[1] == value
            elif key.startswith("note_"):
                found = ours.get(key) == value or (
                    zh["notes"].get(key[5:]) == value[0] and en["notes"].get(key[5:]) == value[1]
                )
            elif key.startswith("err_"):
                entry_zh, entry_en = zh["errors"].get(key[4:], {}), en["errors"].get(key[4:], {})
                found = ours.get(key) == value or (entry_zh.get("message"), entry_en.get("message")) == value
            else:
                continue  # the UI's words stay in quarterhour/i18n.py
            if not found:
                missing.append(f"{branch}: {rel} {name}[{key!r}] is neither in ours nor in the catalogue (or differs)")
    return missing


def main(argv: list[str] | None = None) -> int:
    """Move, convert, report; the exit status (1: ``--check`` found something to move)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raises", action="store_true", help="also turn old-style raises with words into keys")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is left to move")
    parser.add_argument("--branches", nargs="+", default=[], help="check these git branches' note/err words")
    args = parser.parse_args(argv)
    if args.branches:
        missing = [line for b in args.branches for line in branch_words_missing(b)]
        print("\n".join(missing) or "every branch's note and error words are here")
        return 1 if missing else 0
    moved = move_tables(dry=args.check)
    for key in moved:
        print(f"{'to move' if args.check else 'moved'}: {key}")
    if args.raises:
        keys = set(load("en").get("errors", {}))
        for key, entry in convert_raises(keys, dry=args.check).items():
            print(f"{'to convert' if args.check else 'converted'}: {key}: needs its Chinese in zh.toml: {entry}")
    zh, en = load("zh"), load("en")
    for section in ("notes", "errors", "fixes"):
        for key in sorted(set(en.get(section, {})) ^ set(zh.get(section, {}))):
            print(f"one language only: [{section}] {key}")
    left = old_style_sites(set(en.get("errors", {})))
    for site in left:
        print(f"old-style: {site}")
    print(f"{len(moved)} table entries {'to move' if args.check else 'moved'}; {len(left)} old-style error sites left")
    return 1 if args.check and moved else 0


if __name__ == "__main__":
    sys.exit(main())
