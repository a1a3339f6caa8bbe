"""The audience builder's form: the definition tree posted as flat fields (one set per node, named by its path,
e.g. include.0.1), read back into a definition as typed (nothing typed is lost on a refused form)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

from membercare.audiences.conditions import CONDITIONS
from membercare.audiences.definition import PARTS, empty_definition

MAX_NODES = 120  # what the page reads of a post (the service refuses more than 40 conditions anyway)


def definition_from_post(post: QueryDict) -> dict:
    """The tree as posted: groups {"op", "items"}, conditions {"type", "params"} with the raw values."""
    tree = empty_definition()
    nodes: dict[str, dict] = {part: tree[part] for part in PARTS}
    for part in PARTS:
        if post.get(f"op-{part}") in ("and", "or"):
            tree[part]["op"] = post[f"op-{part}"]
    for path in post.getlist("node")[:MAX_NODES]:
        parent_path, _sep, _i = path.rpartition(".")
        parent = nodes.get(parent_path)
        if parent is None or "items" not in parent or len(path) > 40:
            continue
        kind = post.get(f"t-{path}", "")
        if kind == "group":
            node: dict[str, Any] = {"op": post.get(f"op-{path}") if post.get(f"op-{path}") in ("and", "or")
                                    else "and", "items": []}
        elif kind in CONDITIONS:
            params = {}
            for param in CONDITIONS[kind].params:
                key = f"v-{path}-{param.name}"
                params[param.name] = (post.getlist(key)[:param.max_items + 1] if param.kind == "multi"
                                      else (post.get(key) or "")[:60])
            node = {"type": kind, "params": params}
        else:
            continue
        parent["items"].append(node)
        nodes[path] = node
    return tree


def apply_action(tree: dict, action: str, post: QueryDict) -> dict:
    """add:<group path> (the type chosen beside it), addgroup:<group path>, remove:<path>."""
    verb, _sep, path = (action or "").partition(":")

    def find(p: str) -> dict | None:
        part, *rest = p.split(".")
        node = tree.get(part)
        for i in rest:
            items = (node or {}).get("items") or []
            node = items[int(i)] if i.isdigit() and int(i) < len(items) else None
        return node

    if verb == "add":
        group, kind = find(path), post.get(f"addtype-{path}", "")
        if group is not None and "items" in group and kind in CONDITIONS:
            group["items"].append({"type": kind, "params": {p.name: ([] if p.kind == "multi" else
                                                                      ("" if p.default is None else str(p.default)))
                                                            for p in CONDITIONS[kind].params}})
    elif verb == "addgroup":
        group = find(path)
        if group is not None and "items" in group and path.count(".") < 2:
            group["items"].append({"op": "or" if group.get("op") == "and" else "and", "items": []})
    elif verb == "remove" and "." in path:
        parent_path, _sep, i = path.rpartition(".")
        parent = find(parent_path)
        if parent is not None and i.isdigit() and int(i) < len(parent.get("items", [])):
            parent["items"].pop(int(i))
    return tree


def view_tree(tree: dict, problems: dict[str, list[str]]) -> list[dict]:
    """What the template draws: per part a group node with its items, each condition with its parameters'
    inputs (choices marked selected, the typed value)."""

    def group(node: dict, path: str, depth: int) -> dict:
        items = []
        for i, item in enumerate(node.get("items", [])):
            sub = f"{path}.{i}"
            items.append(group(item, sub, depth + 1) if "items" in item else condition(item, sub))
        return {"kind": "group", "path": path, "op": node.get("op", "and"), "items": items, "depth": depth,
                "can_nest": depth < 3, "errors": problems.get(path, [])}

    def condition(node: dict, path: str) -> dict:
        ctype = CONDITIONS[node["type"]]
        params = []
        for p in ctype.params:
            raw = (node.get("params") or {}).get(p.name)
            entry: dict[str, Any] = {"name": p.name, "label": p.label, "kind": p.kind,
                                     "field": f"v-{path}-{p.name}"}
            if p.kind in ("multi", "choice"):
                chosen = {str(v) for v in (raw if isinstance(raw, list) else [raw]) if v not in (None, "")}
                choices = p.choices()
                entry["choices"] = [(v, label, v in chosen) for v, label in choices]
                entry["long"] = len(choices) > 14
            else:
                entry["value"] = "" if raw is None else str(raw)
            params.append(entry)
        return {"kind": "condition", "path": path, "type": node["type"], "label": ctype.label, "help": ctype.help,
                "params": params, "errors": problems.get(path, [])}

    return [group(tree[part], part, 1) | {"part": part} for part in PARTS]


def condition_menu() -> list[tuple[str, list[tuple[str, str]]]]:
    """The condition types by heading, for the "add a condition" select."""
    groups: dict[str, list[tuple[str, str, int]]] = {}
    for ctype in CONDITIONS.values():
        groups.setdefault(str(ctype.group), []).append((ctype.code, str(ctype.label), ctype.order))
    return [(g, [(c, lab) for c, lab, _o in sorted(items, key=lambda t: t[2])])
            for g, items in sorted(groups.items(), key=lambda kv: min(o for _c, _l, o in kv[1]))]
