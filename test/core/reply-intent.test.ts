import { describe, expect, it } from 'vitest';
import { classifyReply } from '../../src/core/classify-reply';
import { type HumanIntent, replyIntent } from '../../src/core/reply-intent';

/** Replies as leads write them: the first lines of real answers to cold emails, in four languages. */
const cases: [HumanIntent, string][] = [
  // English
  ['interested', 'Hi Tom,\n\nSounds interesting. Can you send me more info on pricing?\n\nBest, Jane'],
  ['interested', "Thanks for reaching out. Let's talk next week, how about Tuesday 2pm?"],
  ['interested', "Yes, let's do it. Here's my calendar: https://calendly.com/jane"],
  ['interested', 'We would be interested in a demo for the sales team.'],
  ['interested', 'Happy to chat. When are you free on Thursday?'],
  ['not_interested', 'Not interested, thanks.'],
  ['not_interested', "Hi, we're not interested at this time. Please don't follow up."],
  ['not_interested', 'No thanks, we already use Outreach for this.'],
  ['not_interested', "Thanks Tom but it's not a fit for us."],
  ['not_interested', "We're all set on that front, appreciate it."],
  ['other', 'Who is the right person to talk to at your company about data retention?'],
  ['other', "I'm not the right person, try Mark (mark@acme.test)."],
  ['other', 'Can you remind me in Q3?'],
  // French
  ['interested', 'Bonjour,\nÇa m’intéresse, pouvez-vous m’en dire plus ?'],
  ['interested', 'Avec plaisir, on peut en parler jeudi ?'],
  ['interested', 'Je suis intéressée, envoyez-moi plus d’informations.'],
  ['not_interested', 'Non merci, nous avons déjà un prestataire.'],
  ['not_interested', 'Bonjour, cela ne nous intéresse pas. Bonne journée'],
  ['not_interested', 'Pas intéressé pour le moment.'],
  ['other', 'Pouvez-vous me rappeler en septembre ?'],
  // German
  ['interested', 'Hallo Herr Müller, klingt interessant. Wann haben Sie Zeit für ein Telefonat?'],
  ['interested', 'Gerne, lassen Sie uns nächste Woche sprechen.'],
  ['interested', 'Wir wären sehr interessiert, bitte senden Sie mehr Informationen.'],
  ['not_interested', 'Kein Interesse, danke.'],
  ['not_interested', 'Nein danke, wir haben bereits einen Anbieter.'],
  ['not_interested', 'Das brauchen wir nicht.'],
  ['other', 'Bitte wenden Sie sich an meinen Kollegen Herrn Schmidt.'],
  // Spanish
  ['interested', 'Hola, me interesa. ¿Cuándo tienes tiempo para una llamada?'],
  ['interested', 'Suena bien, hablemos el lunes.'],
  ['interested', 'Con gusto, envíame más información.'],
  ['not_interested', 'No me interesa, gracias.'],
  ['not_interested', 'No, gracias. Ya tenemos un proveedor.'],
  ['not_interested', 'No estamos interesados en este momento.'],
  ['other', '¿Quién te dio mi correo?'],
];

describe('reply intent', () => {
  it.each(cases)('%s: %s', (intent, text) => {
    expect(replyIntent(text)).toBe(intent);
  });

  it('reads only the answer: a quoted "interested" under a refusal is a refusal', () => {
    const cls = classifyReply(
      {
        subject: 'Re: Quick question',
        text: 'No thanks.\n\nOn Mon, 3 Mar 2025 at 09:00, Tom <tom@acme.test> wrote:\n> Would you be interested in a call?',
      },
      new Date('2025-03-03T10:00:00Z'),
    );
    expect(cls).toEqual({ kind: 'human', intent: 'not_interested' });
  });

  it('is linear on hostile input', () => {
    const long = `${'interest '.repeat(200_000)}${'a'.repeat(1_000_000)}`;
    expect(replyIntent(long)).toBe('other');
  });
});
