import { createRoot } from 'react-dom/client';
import { App } from './App';

performance.mark('hullscan:start');
createRoot(document.getElementById('root')!).render(<App />);
