import re
def parse(text: str):
    """Loki's configuration.md: the root block and each `### name` block -> key paths."""
    blocks = {}
    parts = re.split(r"^### (\w+)\n", text, flags=re.M)
    root = re.search(r"### Supported contents and default values of `loki.yaml`.*?```yaml\n(.*?)```", text, re.S).group(1)
    blocks["__root__"] = root
    for i in range(1, len(parts), 2):
        m = re.search(r"```yaml\n(.*?)```", parts[i + 1], re.S)
        if m:
            blocks[parts[i]] = m.group(1)
    memo = {}
    def block_keys(name, stack=()):
        if name in memo: return memo[name]
        if name in stack: return set(), set()
        keys = set(); open_ = set(); path = []  # (indent, key)
        for line in blocks[name].split("\n"):
            s = line.strip()
            if not s or s.startswith("#"): continue
            ind = len(line) - len(line.lstrip())
            while path and path[-1][0] >= ind: path.pop()
            prefix = ".".join(k for _, k in path)
            m = re.match(r"^\[(\w+): (.*)\]$", s) or re.match(r"^(\w+): (<.*>.*)$", s)
            if m:
                key, typ = m.groups()
                full = f"{prefix}.{key}" if prefix else key
                keys.add(full)
                ref = re.match(r"^<(?:list of )?(\w+?)s?>$", typ.split(" |")[0])
                t0 = typ.split(" |")[0]
                lm = re.match(r"^<list of (\w+)>$", t0)
                sub = None
                if lm:
                    for cand in (lm.group(1), lm.group(1).rstrip("s"), lm.group(1)[:-1] if lm.group(1).endswith("s") else None):
                        if cand and cand in blocks: sub, full = cand, full + "[]"; break
                else:
                    bm = re.match(r"^<(\w+)>$", t0)
                    if bm and bm.group(1) in blocks: sub = bm.group(1)
                if sub:
                    sk, so = block_keys(sub, stack + (name,))
                    keys.update(f"{full}.{k}" for k in sk); open_.update(f"{full}.{k}" for k in so)
                elif t0.startswith("<map of") or t0 in ("<map>",):
                    open_.add(full)
                continue
            m = re.match(r"^(\w+):\s*$", s)
            if m:
                full = f"{prefix}.{m.group(1)}" if prefix else m.group(1)
                keys.add(full); path.append((ind, m.group(1)))
                continue
            # list entries in examples etc. are ignored
        memo[name] = (keys, open_)
        return keys, open_
    k, o = block_keys("__root__"); return k, o, blocks
if __name__ == "__main__":
    import sys
    keys, open_, blocks = parse(open(sys.argv[1]).read())
    print(len(keys)); print(sorted(open_)[:40])
    for k in sorted(keys):
        if k.split(".")[0] in ("limits_config","compactor","common","schema_config","server") and k.count(".")<2: print(k)
