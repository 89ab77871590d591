import { screen } from '@testing-library/react';
import type { UserEvent } from '@testing-library/user-event';

/** Opens the Atlaskit select labelled `label` and picks the option named `option`. */
export async function pick(user: UserEvent, label: string, option: string) {
  await user.click(await screen.findByLabelText(label));
  await user.click(await screen.findByRole('option', { name: option }));
}
