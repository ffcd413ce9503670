"""Key paths of a Go struct tree by its `yaml:` tags, read from a bare git repository at a tag.

Regex-based, enough for config structs: named fields, `,inline` embedding, pointers, slices (`[]`
in the path) and maps (recorded as open: any key below). Types with their own UnmarshalYAML are noted."""
import re, subprocess, functools, sys

class Repo:
    def __init__(self, gitdir, tag, module, tagname="yaml"):
        self.gitdir, self.tag, self.module, self.tagname = gitdir, tag, module, tagname
    def git(self, *a):
        return subprocess.run(["git", f"--git-dir={self.gitdir}", *a], capture_output=True, text=True).stdout
    @functools.lru_cache(None)
    def pkg(self, path):
        """path in repo -> (structs: name->body, imports: alias->path, unmarshalers:set, aliases: name->type)"""
        names = [n for n in self.git("ls-tree", "--name-only", f"{self.tag}:{path}").split() if n.endswith(".go") and not n.endswith("_test.go")]
        structs, imports, unm, aliases = {}, {}, set(), {}
        for n in names:
            src = self.git("show", f"{self.tag}:{path}/{n}")
            for blk in re.findall(r"^import \((.*?)^\)", src, re.S | re.M) + re.findall(r"^import (.*)$", src, re.M):
                for m in re.finditer(r'(?:(\w+)\s+)?"([^"]+)"', blk):
                    alias = m.group(1) or m.group(2).rsplit("/", 1)[-1].replace("-", "_")
                    if re.fullmatch(r"v\d+", alias):
                        alias = m.group(2).rsplit("/", 2)[-2].replace("-", "_").replace("yaml.", "yaml")
                    imports[alias] = m.group(2)
            for m in re.finditer(r"^type (\w+) struct \{", src, re.M):
                i, depth = m.end(), 1
                while depth:
                    c = src[i]; depth += c == "{"; depth -= c == "}"; i += 1
                structs[m.group(1)] = src[m.end():i - 1]
            for m in re.finditer(r"^type (\w+) (?!struct)([\w.\[\]*]+)", src, re.M):
                aliases[m.group(1)] = m.group(2)
            for m in re.finditer(r"^func \(\w+ \*?(\w+)\) UnmarshalYAML", src, re.M):
                unm.add(m.group(1))
        return structs, imports, unm, aliases

    def resolve(self, pkgpath, typ):
        """(pkgpath, name) of a type expression's named type, or None for builtins."""
        if "." in typ:
            alias, name = typ.split(".", 1)
            imp = self.pkg(pkgpath)[1].get(alias)
            if imp is None:
                return None
            if imp.startswith(self.module + "/"):
                return imp[len(self.module) + 1:], name
            return "vendor/" + imp, name
        return pkgpath, typ

    def keys(self, pkgpath, typ, prefix="", out=None, depth=0, notes=None):
        out = set() if out is None else out
        notes = {} if notes is None else notes
        if depth > 12:
            return out
        t = typ.lstrip("*")
        if g := re.match(r"^[\w.]+\[([\w.*\[\]]+)\]$", t):  # a generic wrapper such as Optional[T]: its T
            t = g.group(1).lstrip("*")
        if t.startswith("[]"):
            return self.keys(pkgpath, t[2:], prefix + "[]", out, depth + 1, notes) if prefix else out
        if t.startswith("map["):
            notes.setdefault("open", set()).add(prefix)
            return out
        r = self.resolve(pkgpath, t)
        if r is None:
            return out
        p, name = r
        try:
            structs, imports, unm, aliases = self.pkg(p)
        except Exception:
            return out
        if name in unm and prefix:
            notes.setdefault("custom", set()).add(prefix)
        if name in aliases and name not in structs:
            return self.keys(p, aliases[name], prefix, out, depth + 1, notes)
        body = structs.get(name)
        if body is None:
            return out
        body = re.sub(r"//.*", "", body)
        for line in body.split("\n"):
            line = line.strip()
            m = re.match(r"^(?:(\w+)\s+)?([\w.\[\]*{}]+)\s+`([^`]*)`", line)
            if not m:
                continue
            fname, ftype, tag = m.groups()
            ym = re.search(self.tagname + r':"([^"]*)"', tag)
            if not ym:
                continue
            yname = ym.group(1).split(",")[0]
            if yname == "-":
                continue
            if ",inline" in ym.group(1) or ",squash" in ym.group(1):
                self.keys(p, ftype, prefix, out, depth + 1, notes)
                continue
            path = f"{prefix}.{yname}" if prefix else yname
            out.add(path)
            self.keys(p, ftype, path, out, depth + 1, notes)
        return out

if __name__ == "__main__":
    gitdir, tag, module, pkg, typ = sys.argv[1:6]
    notes = {}
    for k in sorted(Repo(gitdir, tag, module).keys(pkg, typ, notes=notes)):
        print(k)
    print(notes, file=sys.stderr)
