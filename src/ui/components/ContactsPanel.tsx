import { Box, Text } from 'ink';
import React from 'react';
import type { ContactInfo } from '../../runbook/events.js';
import { colors } from '../theme.js';

export function ContactLines({ contacts }: { contacts: ContactInfo[] }) {
  if (!contacts.length) return <Text dimColor>No contacts configured (add them to the runbook's contacts or the config's contacts).</Text>;
  return (
    <Box flexDirection="column">
      {contacts.map((contact, index) => (
        <Text key={`${contact.name}-${index}`}>
          <Text bold>{contact.name}</Text>
          {contact.role ? <Text dimColor> ({contact.role})</Text> : null}
          {contact.phone ? <Text>  {contact.phone}</Text> : null}
          {contact.email ? <Text>  {contact.email}</Text> : null}
        </Text>
      ))}
    </Box>
  );
}

/** `c`: who to call, from the runbook and the config. */
export function ContactsPanel({ contacts }: { contacts: ContactInfo[] }) {
  return (
    <Box flexDirection="column" borderStyle="double" borderColor={colors.warn} paddingX={1}>
      <Text bold color={colors.warn}>
        Emergency contacts
      </Text>
      <ContactLines contacts={contacts} />
      <Text dimColor>c or esc to close</Text>
    </Box>
  );
}
