// A selectable card: a radio with a title and a description, clickable anywhere on the card.
import { Radio } from '@atlaskit/radio';
import type { ReactNode } from 'react';

interface ChoiceCardProps {
  name: string;
  value: string;
  title: ReactNode;
  isSelected: boolean;
  isDisabled?: boolean;
  note?: string;
  onSelect: (value: string) => void;
  children: ReactNode;
}

export function ChoiceCard({ name, value, title, isSelected, isDisabled, note, onSelect, children }: ChoiceCardProps) {
  const select = () => {
    if (!isDisabled) onSelect(value);
  };
  const classes = ['choice-card', isSelected && 'is-selected', isDisabled && 'is-disabled'].filter(Boolean).join(' ');
  return (
    <div className={classes} onClick={select}>
      <Radio
        name={name}
        value={value}
        label={<strong>{title}</strong>}
        isChecked={isSelected}
        isDisabled={isDisabled}
        onChange={select}
      />
      {children}
      {note && <div className="choice-card__note">{note}</div>}
    </div>
  );
}
