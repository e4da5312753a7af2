import DynamicTable from '@atlaskit/dynamic-table';
import type { HeadCellType, RowCellType, RowType, SortOrderType } from '@atlaskit/dynamic-table/types';

export type { HeadCellType, RowCellType, RowType };

/**
 * A row's own attributes (`data-*` for tests and styles, a class): Atlaskit's dynamic table spreads
 * everything but `cells` and `key` onto the `<tr>`, but an object literal cannot name `data-*` keys
 * against its row type, so they go through here.
 */
export function rowAttributes(
  attributes: Readonly<Record<`data-${string}`, string>>,
  className?: string,
): Omit<RowType, 'cells'> {
  return { ...(attributes as Omit<RowType, 'cells'>), ...(className === undefined ? {} : { className }) };
}

export interface DataTableProps {
  /** Classes for the box around the table (besides `cg-table-wrap`). */
  readonly className?: string;
  /** The table's accessible name (aria-label) when it has no caption. */
  readonly label?: string;
  /** A visible caption (also the accessible name). */
  readonly caption?: string;
  readonly head: readonly HeadCellType[];
  readonly rows: readonly RowType[];
  /** Rows per page; without it every row is shown. */
  readonly rowsPerPage?: number;
  /** The page shown first (1-based), e.g. the one holding a highlighted row. */
  readonly defaultPage?: number;
  readonly defaultSortKey?: string;
  readonly defaultSortOrder?: SortOrderType;
  readonly testId?: string;
}

/**
 * Every table on the pages: Atlaskit's dynamic table (the tables Bitbucket users know), in a box that
 * scrolls sideways instead of widening the page (the PR panel is 360 px wide). Sorting is per column
 * (`isSortable` on a head cell, sorted by each row's cell `key`); pagination by `rowsPerPage`.
 */
export function DataTable({
  className,
  label,
  caption,
  head,
  rows,
  rowsPerPage,
  defaultPage,
  defaultSortKey,
  defaultSortOrder,
  testId,
}: DataTableProps) {
  return (
    <div className={className === undefined ? 'cg-table-wrap' : `cg-table-wrap ${className}`}>
      <DynamicTable
        label={caption === undefined ? label : undefined}
        caption={caption}
        head={{ cells: [...head] }}
        rows={[...rows]}
        rowsPerPage={rowsPerPage}
        defaultPage={defaultPage}
        defaultSortKey={defaultSortKey}
        defaultSortOrder={defaultSortOrder}
        paginationi18n={{
          prev: 'Previous page',
          next: 'Next page',
          label: `${caption ?? label ?? 'Table'} pages`,
          pageLabel: 'Page',
        }}
        testId={testId}
      />
    </div>
  );
}
