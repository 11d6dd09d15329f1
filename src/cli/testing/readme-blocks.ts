/** A fenced shell block of a Markdown file. */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Why it is not run (`<!-- readme-test: skip: REASON -->` on the line before), if so. */
  skip?: string;
}

const SKIP = /^<!--\s*readme-test:\s*skip:\s*(.+?)\s*-->$/;

/**
 * Every ```sh / ```bash / ```shell block of `markdown`, in order. A block preceded by
 * `<!-- readme-test: skip: REASON -->` carries its reason; a skip marker without a reason, or
 * not followed by a shell block, is an error (so a marker cannot silently hide a block).
 */
export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const out: ShellBlock[] = [];
  let pendingSkip: { reason: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? "";
    const skip = SKIP.exec(l.trim());
    if (skip !== null) {
      pendingSkip = { reason: skip[1] ?? "", line: i + 1 };
      continue;
    }
    if (l.trim().startsWith("<!--") && l.includes("readme-test"))
      throw new Error(`README line ${String(i + 1)}: malformed readme-test marker: ${l}`);
    const fence = /^(`{3,}|~{3,})\s*([A-Za-z]*)/.exec(l);
    if (fence === null) {
      if (pendingSkip !== undefined && l.trim() !== "")
        throw new Error(`README line ${String(pendingSkip.line)}: skip marker not before a block`);
      continue;
    }
    const close = fence[1] ?? "```";
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !(lines[j] ?? "").startsWith(close)) body.push(lines[j++] ?? "");
    if (["sh", "bash", "shell"].includes(fence[2] ?? "")) {
      out.push({
        line: i + 1,
        code: body.join("\n"),
        ...(pendingSkip !== undefined ? { skip: pendingSkip.reason } : {}),
      });
    } else if (pendingSkip !== undefined) {
      throw new Error(`README line ${String(pendingSkip.line)}: skip marker not before a sh block`);
    }
    pendingSkip = undefined;
    i = j;
  }
  return out;
}
