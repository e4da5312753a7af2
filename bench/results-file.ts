import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Puts `report` between the two `marker` lines of bench/RESULTS.md, or appends a new section titled `title`. */
export function writeResultsSection(marker: string, title: string, report: string): void {
  const file = path.join(__dirname, 'RESULTS.md');
  const existing = readFileSync(file, 'utf8');
  const parts = existing.split(marker);
  const updated =
    parts.length === 3
      ? `${parts[0]}${marker}\n${report}${marker}${parts[2]}`
      : `${existing}\n## ${title}\n\n${marker}\n${report}${marker}\n`;
  writeFileSync(file, updated);
}
