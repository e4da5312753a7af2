import Select from '@atlaskit/select';

/** One choice of a `ChoiceSelect`: the value the form keeps and the words the user reads. */
export interface Choice<Value extends string> {
  readonly value: Value;
  readonly label: string;
}

export interface ChoiceSelectProps<Value extends string> {
  /** The id of the select's input: a `<Label htmlFor>` (or `<label>`) names it with this id. */
  readonly inputId: string;
  readonly options: readonly Choice<Value>[];
  readonly value: Value;
  readonly onChange: (value: Value) => void;
  /** Type to filter (long lists such as the workspace's policies); short fixed lists need not. */
  readonly isSearchable?: boolean;
  readonly testId?: string;
}

/**
 * A single choice among fixed values, on Atlaskit's select (the one Bitbucket's own settings use): it
 * keeps the value a plain string, as the native select it replaces did. The menu opens upwards when
 * the frame has no room below (the Connect iframe is only as tall as its content). A value that is
 * not among the options (e.g. an assignment naming a policy that was removed) is shown as itself.
 */
export function ChoiceSelect<Value extends string>({
  inputId,
  options,
  value,
  onChange,
  isSearchable = false,
  testId,
}: ChoiceSelectProps<Value>) {
  const selected = options.find((option) => option.value === value) ?? { value, label: value };
  return (
    <Select<Choice<Value>>
      inputId={inputId}
      testId={testId}
      options={options}
      value={selected}
      isSearchable={isSearchable}
      menuPlacement="auto"
      spacing="compact"
      onChange={(option) => {
        if (option !== null) onChange(option.value);
      }}
    />
  );
}
