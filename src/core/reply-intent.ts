/**
 * What a human reply says about the offer: `interested`, `not_interested`, or `other` (a question, a
 * referral, "not now", anything unclear). Read from the new part of the reply (quotes already cut),
 * in English, French, German and Spanish, by phrase lists: a refusal is checked first, because it so
 * often contains the words of interest ("not interested", "no me interesa"), and a reply that is
 * neither clearly one nor the other stays `other` rather than guessing. Pure and linear: the text is
 * normalised once (lower case, accents and curly quotes folded) and each list is one regex.
 */
export type HumanIntent = 'interested' | 'not_interested' | 'other';

/** Characters read: an answer is at the top, and a long message must not cost more. */
const MAX_CHARS = 4_000;

/** Lower case, accents removed (é → e, ß → ss), curly apostrophes straight, runs of spaces single. */
export function normaliseReply(text: string): string {
  return text
    .slice(0, MAX_CHARS)
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/[\u2018\u2019\u00b4`]/g, "'")
    .replace(/\s+/g, ' ');
}

/** One regex over whole words: each phrase must start and end on a word boundary (letters a–z). */
const phrases = (list: string[]) => new RegExp(`(?<![a-z])(?:${list.join('|')})(?![a-z])`);

const refusal = phrases([
  // English
  "(i'?m|i am|we'?re|we are|not) (really |currently |just )?not (really )?interested",
  'not interested',
  'no interest',
  'no,? thanks?( you)?',
  'no thank you',
  'thanks,? but no',
  "(it'?s|this is|that'?s) not (a (good |great )?fit|for us|relevant)",
  'not (a (good |great )?fit|relevant for us|for us)',
  "(we'?re|we are) (all set|good|covered)",
  'we already (have|use|work with)',
  "(we )?(don'?t|do not) need (it|this|that|your|any|such)",
  '(will|going to|have to|must|gonna) pass',
  'not looking',
  'no budget',
  "please (do not|don'?t) (follow up|reach out)",
  // French
  'pas (du tout )?interess(e|ee|es|ees)',
  'aucun interet',
  'non,? merci',
  "(ca|cela) ne (m|nous)'?\\s?interesse (pas|plus)",
  "ne (m|nous)'?\\s?interesse (pas|plus)",
  'pas pour (nous|moi)',
  'pas besoin',
  '(nous|on) (avons|a) deja (un|une|notre|nos)',
  "nous n'?avons pas besoin",
  'je (vais|dois) passer',
  // German
  'kein(e|en)? interesse',
  'nicht interessiert',
  'nein,? danke',
  '(brauchen|benotigen) wir nicht',
  'kein bedarf',
  'wir haben (bereits|schon) (einen|eine|ein)',
  'passt (leider )?nicht',
  'nicht relevant',
  // Spanish
  'no (me|nos) interesa',
  'no (estoy|estamos) interesad(o|a|os|as)',
  'no,? gracias',
  'ya (tenemos|contamos con|trabajamos con)',
  'no (lo )?necesitamos',
  'no es para nosotros',
  'no es (relevante|prioridad)',
]);

const interest = phrases([
  // English
  "(i'?m|i am|we'?re|we are|i'?d be|we'?d be|would be) (very |really |definitely |quite )?interested",
  'sounds (good|great|interesting|promising)',
  "(let'?s|happy to|glad to|love to|like to|keen to) (talk|chat|connect|meet|speak|set up|schedule|hop on)",
  '(book|schedule|set up|arrange) (a|some) (call|meeting|demo|time|chat)',
  '(send|share) (me |us )?(more|some) (info|information|details)',
  'tell me more',
  'more (info|information|details)',
  "(i'?d|we'?d|i would|we would) love to",
  'when (are you|would you be) (free|available)',
  'what (times|time) (work|works|suit)',
  "(here is|here'?s) my calendar",
  'calendly',
  "(yes|sure),? (let'?s|please|happy|i'?m|sounds|that)",
  '(could|can) (you|we) (two )?(do|call|talk|meet|speak|find|set up|schedule|show)',
  '(call|ring) (me|my (cell|mobile|phone|office))',
  "(we'?d|we would|i'?d|i would|we are|we'?re|i'?m|i am) (be )?open to (a|an|the) (chat|call|conversation|meeting|demo|intro)",
  '(send|share) (me|us) (a|an|the|your|some)( [a-z-]+){0,2} (deck|pricing|price list|proposal|quote|case stud(y|ies)|references|documentation|brochure)',
  '(works|work) for (me|us)',
  'timing is (actually |quite )?(good|right|great)',
  // French
  "(ca|cela) (m|nous)'?\\s?interesse",
  '(je suis|nous sommes|serais|serions) (tres |assez )?interess(e|ee|es|ees)',
  'avec plaisir',
  'volontiers',
  'discutons',
  '(on peut|nous pouvons|pourrions|pourrait) (en )?(parler|discuter|echanger|nous appeler)',
  '(un|une) (appel|rendez-vous|rdv|visio|demo|echange)',
  'en savoir plus',
  "plus d'?\\s?(infos?|informations|details)",
  '(je suis|suis) dispo(nible)?',
  'quand (etes-vous|seriez-vous|es-tu) (dispo|disponible)',
  "(m|nous)'\\s?interessen?t?",
  "(pouvez-vous|pourriez-vous|peux-tu|pourrais-tu) (m'|nous )?\\s?(appeler|rappeler|envoyer|presenter|montrer)",
  '(appelez|rappelez)-(moi|nous)',
  "(nous avons|j'ai|on a) (de l'|un )?\\s?interet",
  // German
  '(bin|sind|waren|ware) (sehr |durchaus )?interessiert',
  'klingt (gut|interessant|spannend)',
  'gerne',
  '(einen |ein )?(termin|telefonat|gesprach|call|demo) (vereinbaren|ausmachen|machen)',
  '(lassen sie|lass) uns (sprechen|telefonieren|reden)',
  'mehr (informationen|infos|details)',
  'wann haben sie zeit',
  '(haben|hatten) (wir|ich) (grundsatzlich |durchaus |schon )?interesse',
  '(konnen|konnten) sie (mir|uns) .{0,40}?(schicken|senden|zeigen)',
  'rufen sie (mich|uns) an',
  // Spanish
  '(me|nos) interesa',
  '(estoy|estamos) (muy )?interesad(o|a|os|as)',
  'suena (bien|interesante)',
  'con (mucho )?gusto',
  'encantad(o|a)',
  'hablemos',
  '(una|un) (llamada|reunion|demo|cita)',
  'mas (informacion|detalles|info)',
  'cuando (estas|esta|estan|tienes|tiene) (disponible|libre|tiempo)',
  '(podriamos|podemos|podria|puede|puedes) (hablar|vernos|reunirnos|llamar(me|nos)|enviar(me|nos))',
  'llam(ame|eme|enos)',
]);

/** The intent of a reply's new text (call it with the quotes already cut, as `stripQuoted` does). */
export function replyIntent(fresh: string): HumanIntent {
  const text = normaliseReply(fresh);
  if (refusal.test(text)) return 'not_interested';
  if (interest.test(text)) return 'interested';
  return 'other';
}
