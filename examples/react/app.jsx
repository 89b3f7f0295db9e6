// A React developer's take: read the JSON API and render the items with React.
// JSX escapes every string, and links are only made from http(s) URLs.
import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

const API = "/api/v1/social/instagram?api_key=pk_demo&limit=6";

function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : undefined;
}

function Post({ item }) {
  const media = (item.media && item.media[0]) || {};
  return (
    <li className="post" data-item={item.id}>
      <a href={safeUrl(item.url)} target="_blank" rel="noopener noreferrer">
        {safeUrl(item.image) && (
          <img src={safeUrl(item.image)} alt={media.alt || item.text || "Instagram post"}
               width={media.width || 1080} height={media.height || 1080} loading="lazy" />
        )}
      </a>
      <p>{item.text}</p>
    </li>
  );
}

function Feed() {
  const [feed, setFeed] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let timer;
    const load = () => fetch(API).then((r) => {
      if (r.status === 202) timer = setTimeout(load, 3000);
      return r.ok ? r.json() : Promise.reject(new Error("HTTP " + r.status));
    }).then(setFeed, (e) => setError(e.message));
    load();
    return () => clearTimeout(timer);
  }, []);
  if (error) return <p role="status">Feed unavailable ({error}).</p>;
  if (!feed) return <p role="status">Loading…</p>;
  return (
    <section aria-label="Instagram feed">
      <h2>{feed.profile && feed.profile.name}</h2>
      <ul className="posts">{feed.items.map((item) => <Post key={item.id} item={item} />)}</ul>
    </section>
  );
}

createRoot(document.getElementById("root")).render(<Feed />);
