import type { Locator, Page } from 'playwright-core';

/** Where to look for the select: the page, or a part of it (a group of fields). */
export type Scope = Page | Locator;

/**
 * Driving Atlaskit's select (react-select) the way a user does: the label names its input (a
 * combobox), ArrowDown opens the listbox, the option is clicked by its words. `selectOption` works only
 * on native selects, which the pages no longer have.
 */
export async function chooseOption(scope: Scope, label: string, option: string | RegExp): Promise<void> {
  // A select one cannot type in keeps its input out of sight (react-select's dummy input): ArrowDown
  // on the focused input opens the listbox as a click on the control does.
  await scope.getByLabel(label, { exact: true }).press('ArrowDown');
  await scope.getByRole('option', { name: option }).click();
  await scope.getByRole('listbox').waitFor({ state: 'detached' });
}

/** The same with the keyboard only: focus the combobox, open it with ArrowDown, move to the option, Enter. */
export async function chooseOptionByKeyboard(page: Page, label: string, option: string): Promise<void> {
  const input = page.getByLabel(label, { exact: true });
  await input.focus();
  await page.keyboard.press('ArrowDown');
  const options = page.getByRole('listbox').getByRole('option');
  await options.first().waitFor();
  const names = (await options.allInnerTexts()).map((text) => text.trim());
  const target = names.indexOf(option);
  if (target < 0) throw new Error(`no option "${option}" in ${JSON.stringify(names)}`);
  // The menu opens with the selected option focused (or the first); Home moves to the first.
  await page.keyboard.press('Home');
  for (let step = 0; step < target; step += 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.getByRole('listbox').waitFor({ state: 'detached' });
}

/** What an Atlaskit select shows as chosen (its single value), found from its label. */
export async function chosenText(page: Page, label: string): Promise<string> {
  const input: Locator = page.getByLabel(label, { exact: true });
  const describedBy = await input.getAttribute('aria-describedby');
  const valueId = (describedBy ?? '').split(/\s+/).find((id) => id.endsWith('-single-value') || id.includes('value'));
  if (valueId === undefined) return '';
  return (await page.locator(`[id="${valueId}"]`).innerText()).trim();
}
