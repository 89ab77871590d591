// The page's configuration and API client, shared with every component below <App>.
import { createContext, useContext } from 'react';
import type { Api } from './api';
import type { PageConfig } from './config';

export interface AppContextValue {
  api: Api;
  config: PageConfig;
}

export const AppContext = createContext<AppContextValue | null>(null);

function useAppContext(): AppContextValue {
  const value = useContext(AppContext);
  if (!value) throw new Error('AppContext is missing: render inside <App>.');
  return value;
}

export const useApi = (): Api => useAppContext().api;
export const useConfig = (): PageConfig => useAppContext().config;
