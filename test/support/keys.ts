/**
 * Tests read sealed records the way an outside consumer with the keys would: a Keyring on the
 * test's keys topic, and `openWith` to open every personal field of an email event or the
 * recipient of a preference.
 */

import type { Config } from '../../core/config.js';
import { createKafka } from '../../core/kafka.js';
import { Keyring } from '../../core/keys/keyring.js';
import { topicsFor } from '../../core/topics.js';
import { isEmailEvent, type AnyEvent } from '../../schemas/events.js';
import { isSealed, isSealedPreference, openEvent, openPreference } from '../../schemas/sealing.js';
import { testGroupId } from './env.js';

export async function startTestKeyring(config: Config): Promise<Keyring> {
  const keyring = new Keyring({ kafka: createKafka(config), topic: topicsFor(config).keys, masterKeys: config.masterKeys, groupPrefix: testGroupId(config, 'test') });
  await keyring.start();
  return keyring;
}

/** The event with every personal field opened (a clear record as it is); throws when its key is unknown here even after reading the keys topic to its end. */
export async function openWith(keyring: Keyring, event: AnyEvent): Promise<AnyEvent> {
  if (event.type === 'ContactFollowPreferenceChanged' && isSealedPreference(event)) {
    const keyId = event.encryption.keyId;
    if (!keyring.key(event.orgId, keyId)) await keyring.caughtUp();
    const key = keyring.key(event.orgId, keyId);
    if (!key) throw new Error(`no live key ${keyId} of ${event.orgId}`);
    return openPreference(event, key);
  }
  if (!isEmailEvent(event) || !isSealed(event)) return event;
  let key = keyring.key(event.orgId, event.encryption.keyId);
  if (!key) {
    await keyring.caughtUp();
    key = keyring.key(event.orgId, event.encryption.keyId);
  }
  if (!key) throw new Error(`no live key ${event.encryption.keyId} of ${event.orgId}`);
  const { encryption: _sealedWith, ...opened } = openEvent(event, key, 'all');
  return { ...opened, encryption: null } as AnyEvent;
}
