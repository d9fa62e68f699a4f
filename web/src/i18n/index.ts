// Every area's dictionary, merged. To add an area: create web/src/i18n/<area>.ts
// exporting `{ zh: {...}, en: {...} }` with keys prefixed by the area, and list it here.
import core from './core';
import inbox from './inbox';
import hq from './hq';

export type Dict = Record<string, string>;
export interface AreaDict {
  zh: Dict;
  en: Dict;
}

const areas: AreaDict[] = [core, inbox, hq];

export const dictionaries: { zh: Dict; en: Dict } = {
  zh: Object.assign({}, ...areas.map((a) => a.zh)),
  en: Object.assign({}, ...areas.map((a) => a.en)),
};
