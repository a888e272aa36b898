/**
 * Where things are in a JSON(C) text: 1-based line/column of an offset, the tree node behind a JSON
 * pointer, a short preview of the source of a value, and plain-language names of syntax errors. Messages
 * about a config file are only useful when they point at the exact spot the editor can jump to.
 */
import { createScanner, printParseErrorCode, type Node, type ParseErrorCode } from 'jsonc-parser';

export interface LineColumn {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (what editors count). */
  column: number;
}

/** 1-based line and column of `offset`; \n, \r\n and a lone \r each end a line, as in editors. */
export function lineColumnAt(text: string, offset: number): LineColumn {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 /* \n */ || (ch === 13 /* \r */ && text.charCodeAt(i + 1) !== 10)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Segments of a JSON pointer (`/training/learningRate`), unescaped (`~1` → `/`, `~0` → `~`). */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * The property node (key + value) named `key` in an object node. When a key is repeated, the last one
 * wins — the same rule the parser uses for the value — so a message points at the value actually used.
 */
export function propertyNode(objectNode: Node, key: string): Node | undefined {
  if (objectNode.type !== 'object') return undefined;
  let found: Node | undefined;
  for (const property of objectNode.children ?? []) {
    if (property.children?.[0]?.value === key) found = property;
  }
  return found;
}

/** Value node at `segments` below `root` (array elements by index), or undefined if there is none. */
export function nodeAtPath(root: Node, segments: readonly string[]): Node | undefined {
  let node: Node | undefined = root;
  for (const segment of segments) {
    if (node === undefined) return undefined;
    if (node.type === 'array') {
      node = /^\d+$/.test(segment) ? node.children?.[Number(segment)] : undefined;
    } else {
      node = propertyNode(node, segment)?.children?.[1];
    }
  }
  return node;
}

/** The deepest existing node on the way to `segments`: a value that is missing is reported at its parent. */
export function closestNodeAtPath(root: Node, segments: readonly string[]): Node {
  for (let depth = segments.length; depth > 0; depth--) {
    const node = nodeAtPath(root, segments.slice(0, depth));
    if (node !== undefined) return node;
  }
  return root;
}

/** The source text of a node, on one line and shortened, as the user wrote it (e.g. `-0.1`, `"adamw"`). */
export function sourcePreview(text: string, node: Node, maxLength = 40): string {
  const source = text.slice(node.offset, node.offset + node.length).replace(/\s+/g, ' ');
  return source.length <= maxLength ? source : `${source.slice(0, maxLength - 1)}…`;
}

const SYNTAX_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a key in double quotes is expected',
  ValueExpected: 'a value is expected',
  ColonExpected: 'a colon (:) is expected after the key',
  CommaExpected: 'a comma is expected between entries',
  CloseBraceExpected: 'a closing } is missing',
  CloseBracketExpected: 'a closing ] is missing',
  EndOfFileExpected: 'unexpected text after the end of the JSON document',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: 'the /* comment is never closed',
  UnexpectedEndOfString: 'the string is never closed',
  UnexpectedEndOfNumber: 'the number is cut off',
  InvalidUnicode: 'invalid \\u escape in a string',
  InvalidEscapeCharacter: 'invalid escape (\\) in a string',
  InvalidCharacter: 'a control character (such as a line break) inside a string',
};

/** What a jsonc-parser error code means, in words. */
export function describeSyntaxError(code: ParseErrorCode): string {
  const name = printParseErrorCode(code);
  return SYNTAX_ERRORS[name] ?? name;
}

/**
 * Offset of the first `{` or `[` that opens more than `maxDepth` levels, or undefined. Checked with the
 * scanner (a loop, no recursion) before parsing, because the recursive parser would overflow the stack on
 * pathologically nested input and that must surface as a readable error, not a RangeError.
 */
export function excessiveNestingOffset(text: string, maxDepth: number): number | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  for (let token = scanner.scan(); token !== 17 /* SyntaxKind.EOF */; token = scanner.scan()) {
    if (token === 1 /* OpenBraceToken */ || token === 3 /* OpenBracketToken */) {
      depth++;
      if (depth > maxDepth) return scanner.getTokenOffset();
    } else if (token === 2 /* CloseBraceToken */ || token === 4 /* CloseBracketToken */) {
      depth = Math.max(0, depth - 1);
    }
  }
  return undefined;
}
