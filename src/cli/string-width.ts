// string-width, as yargs and listr2 call it, without its start-up cost. The real
// module builds an Intl.Segmenter and Unicode-property expressions when it is loaded
// (tens of milliseconds on every command); nearly all the CLI measures is printable
// ASCII, whose width is its length. The bundle aliases `string-width` to this
// module, and the real one is loaded the first time other text is measured.
import { createRequire } from 'node:module';

type StringWidth = (
  text: string,
  options?: { ambiguousIsNarrow?: boolean; countAnsiEscapeCodes?: boolean },
) => number;

/** The width of printable ASCII text (its length), or undefined for any other text. */
export function printableAsciiWidth(text: string): number | undefined {
  return /^[\x20-\x7e]*$/.test(text) ? text.length : undefined;
}

let fullStringWidth: StringWidth | undefined;

function loadStringWidth(): StringWidth {
  fullStringWidth ??= (createRequire(import.meta.url)('string-width') as { default: StringWidth })
    .default;
  return fullStringWidth;
}

export default function stringWidth(text: unknown, options?: Parameters<StringWidth>[1]): number {
  if (typeof text !== 'string') return 0;
  return printableAsciiWidth(text) ?? loadStringWidth()(text, options);
}
