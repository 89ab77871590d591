// Atlaskit components check Atlassian-internal feature gates. Outside Atlassian's own products
// nothing initialises the gate client, so every check would log an error; answering "off" for
// all of them gives the components' published default behaviour, silently.
import { setBooleanFeatureFlagResolver } from '@atlaskit/platform-feature-flags';

setBooleanFeatureFlagResolver(() => false);
