/**
 * The secret half of a Keystone application credential (glance_store 5.4's
 * `<store>_store_application_credential_secret`): swift and cinder declare it
 * alike, required exactly when its id is set and refused without it.
 */
import type { OptionValues } from '../config/schema.js';

export function applicationCredentialSecret<N extends string>(name: N, idOption: string) {
  return {
    name,
    type: 'string',
    secret: true,
    required: { when: `when ${idOption} is set`, test: (values: OptionValues) => !!values[idOption] },
    check: { rule: `set with ${idOption}`, problem: (_value: unknown, values: OptionValues) => (values[idOption] ? undefined : `is set without ${idOption}`) },
    help: `Secret of ${idOption}.`,
  } as const;
}
