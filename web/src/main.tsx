// Entry point (bundled by scripts/build-web.ts into web/dist).
import { render } from 'preact';
import './styles.css';
import { App } from './app';
import { getLang } from './core/i18n';

document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
render(<App />, document.getElementById('app')!);
