// HQ screens' texts (keys start with "hq."). Filled in by the HQ screens.
import type { AreaDict } from './index';

const hq: AreaDict = {
  zh: {},
  en: {},
};
export default hq;
