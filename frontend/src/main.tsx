// Entry point: the server's page shell (or index.html in development) carries the metas read here.
import './featureFlags';
import '@atlaskit/css-reset';
import './styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { readConfig } from './config';

const root = document.getElementById('root');
if (!root) throw new Error('The page shell has no #root element.');
createRoot(root).render(
  <StrictMode>
    <App config={readConfig()} />
  </StrictMode>,
);
