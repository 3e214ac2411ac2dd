import kleur from 'kleur';

/** Colour only for a TTY without NO_COLOR, decided once by the command layer. */
export function setColor(enabled: boolean): void {
  kleur.enabled = enabled;
}

export {kleur as c};
