// The application shell: restores the session, picks the route, wraps it in the Layout.
import { useEffect, useState } from 'preact/hooks';
import { useLang, t } from './core/i18n';
import { findRoute, navigate, useLocation } from './core/router';
import { restore, useSession } from './core/session';
import { Empty, Layout, Spinner } from './core/ui';
import { routes } from './routes';
import { resetTasks } from './inbox/store';

export function App() {
  useLang(); // re-render everything when the language changes
  const loc = useLocation();
  const { session } = useSession();
  const [restoring, setRestoring] = useState(true);
  useEffect(() => {
    void restore().finally(() => setRestoring(false));
  }, []);
  const userId = session?.user.id;
  useEffect(() => resetTasks(), [userId]); // another user logs in: forget the previous one's tasks

  if (restoring) return <Spinner />;
  const found = findRoute(routes, loc.path);
  if (found?.route.public) {
    const Page = found.route.component;
    return <Page params={found.params} query={loc.query} />;
  }
  if (!session) {
    const back = loc.path === '/' ? '' : `?next=${encodeURIComponent(loc.path)}`;
    navigate(`/login${back}`, { replace: true });
    return <Spinner />;
  }
  let content;
  if (!found) content = <Empty>{t('route.notFound')}</Empty>;
  else if (found.route.allow && !found.route.allow(session)) content = <Empty>{t('route.forbidden')}</Empty>;
  else {
    const Page = found.route.component;
    content = <Page key={loc.path} params={found.params} query={loc.query} />;
  }
  return (
    <Layout session={session} routes={routes}>
      {content}
    </Layout>
  );
}
