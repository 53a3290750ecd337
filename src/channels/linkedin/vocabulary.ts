/**
 * Text the driver reads where LinkedIn gives no other signal, in every UI language the driver
 * supports (English, French, German, Spanish). Each is the last of several signals, never the only
 * one: the weekly limit is first recognised by the notice's class and the refused request, unread
 * conversations first by the row's unread modifier. A language missing here fails loudly (layout
 * unrecognised), not silently.
 */

/**
 * The UI languages the words below cover (primary subtags of the page's `<html lang>`). On a page in
 * another language, a reader that depends on them says so instead of finding nothing.
 */
export const vocabularyLanguages: readonly string[] = ['en', 'fr', 'de', 'es'];

/** The accessible "N unread messages" label of a conversation row (2026: the only unread marker). */
export const unreadLabel =
  /^\s*\d+\s+(unread messages?|messages? non lus?|ungelesene Nachrichten?|mensajes? no le[ií]dos?)\s*$/i;

/** The weekly invitation limit notice. */
export const weeklyLimitNotice =
  /(weekly invitation limit|limite hebdomadaire d.invitations|wöchentliche\S* Limit für Einladungen|wöchentliche\S* Einladungslimit|límite semanal de invitaciones)/i;
