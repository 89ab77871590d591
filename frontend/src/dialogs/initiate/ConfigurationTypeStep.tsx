// Step 2: "Choose the configuration type". Only Basic exists in this version; Visual and Script
// are shown (as in Exalate) so admins know where an upgrade leads, but cannot be picked.
import Heading from '@atlaskit/heading';
import { ChoiceCard } from '../../components/ChoiceCard';

const TYPES = [
  {
    value: 'basic',
    title: 'Basic',
    points: [
      'Automatic configuration of basic fields',
      'Sync rules cannot be edited',
      'Only Issues can be synced',
      'Recommended for use cases of basic complexity',
    ],
  },
  {
    value: 'visual',
    title: 'Visual',
    points: [
      'Low-code, visual interface',
      'Configure both sides of the connection using a single interface',
      'Recommended for use cases of basic to intermediate complexity',
    ],
  },
  {
    value: 'script',
    title: 'Script',
    points: [
      'Groovy-based scripting',
      'Configure each side of the connection separately',
      'Recommended for use cases of basic to advanced complexity',
    ],
  },
];

export function ConfigurationTypeStep() {
  return (
    <div className="stack">
      <Heading size="small">Choose the configuration type</Heading>
      <div className="choice-cards" role="radiogroup" aria-label="Configuration type">
        {TYPES.map((type) => {
          const available = type.value === 'basic';
          return (
            <ChoiceCard
              key={type.value}
              name="configuration-type"
              value={type.value}
              title={type.title}
              isSelected={available}
              isDisabled={!available}
              note={available ? undefined : 'Not available in this version'}
              onSelect={() => undefined}
            >
              <ul>
                {type.points.map((point) => (
                  <li key={point}>{point}</li>
                ))}
              </ul>
            </ChoiceCard>
          );
        })}
      </div>
    </div>
  );
}
