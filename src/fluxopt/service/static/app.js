// La page de fluxopt : déposer un classeur, le valider, calculer, suivre, afficher, télécharger.
"use strict";

const ETAPES = {en_attente: "en attente d'un processus de calcul", demarrage: "démarrage",
  lecture: "lecture de l'instance", construction: "construction du programme linéaire",
  resolution: "résolution", explication: "explications", ecriture: "écriture du classeur"};
const RANG = {en_attente: 0, demarrage: 0, lecture: 1, construction: 2, resolution: 3, explication: 4, ecriture: 5};
const TYPES = {prefet: "Préfet", prefet_agents: "Préfet (agents de l'État)", action_logement: "Action Logement",
  commune: "Communes", epci: "EPCI", departement: "Département", region: "Région", autre: "Autres",
  propre: "Part propre du bailleur"};
const COULEURS = {prefet: "#000091", prefet_agents: "#6a6af4", action_logement: "#ce0500", commune: "#18753c",
  epci: "#8585f6", departement: "#b34000", region: "#a558a0", autre: "#666666", propre: "#e5e5e5"};
const STATUTS = {optimal: "Proposition calculée.", infeasible: "Les objectifs CIL impératifs ne peuvent pas être tous atteints.",
  time_limit: "Le temps de calcul est écoulé.", error: "Le solveur a échoué."};

const $ = (id) => document.getElementById(id);
let fichier = null;
let travail = null;

function entetes() {
  // The page is in French: the service's answers too, whatever languages the browser prefers.
  const champ = $("jeton");
  const entetes = {"Accept-Language": "fr"};
  if (champ && champ.value) entetes.Authorization = "Bearer " + champ.value;
  return entetes;
}

function texte(valeur) {
  return valeur === null || valeur === undefined ? "" : String(valeur);
}

function phrase(t) {
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : "";
}

function nombre(valeur, chiffres) {
  if (valeur === null || valeur === undefined) return "";
  return Number(valeur).toLocaleString("fr-FR", {minimumFractionDigits: chiffres, maximumFractionDigits: chiffres});
}

function tableau(colonnes, lignes, classe) {
  const table = document.createElement("table");
  const tete = table.createTHead().insertRow();
  for (const [titre] of colonnes) {
    const th = document.createElement("th");
    th.textContent = titre;
    tete.appendChild(th);
  }
  const corps = table.createTBody();
  for (const ligne of lignes) {
    const tr = corps.insertRow();
    if (classe) tr.className = classe(ligne);
    for (const [, valeur, numerique] of colonnes) {
      const td = tr.insertCell();
      td.textContent = valeur(ligne);
      if (numerique) td.className = "nombre";
    }
  }
  return table;
}

function afficherProblemes(zone, problemes) {
  zone.replaceChildren(tableau([
    ["Gravité", (p) => (p.gravite === "error" ? "erreur" : "avertissement")],
    ["Feuille ou fichier", (p) => texte(p.fichier).replace(" (sheet)", " (feuille)")],
    ["Ligne", (p) => texte(p.ligne), true],
    ["Colonne", (p) => texte(p.colonne)],
    ["Problème", (p) => p.message],
  ], problemes, (p) => p.gravite));
}

async function lireReponse(reponse) {
  try {
    return await reponse.json();
  } catch (e) {
    return {erreur: "réponse illisible du serveur (" + reponse.status + ")"};
  }
}

function envoi() {
  const donnees = new FormData();
  donnees.append("fichier", fichier, fichier.name);
  donnees.append("langue", "fr");
  return donnees;
}

async function valider() {
  const zone = $("validation");
  zone.replaceChildren(document.createTextNode("Vérification du classeur…"));
  $("calculer").disabled = true;
  const reponse = await fetch("/api/v1/valider", {method: "POST", body: envoi(), headers: entetes()});
  const corps = await lireReponse(reponse);
  zone.replaceChildren();
  if (corps.erreur) {
    const p = document.createElement("p");
    p.className = "message erreur";
    p.textContent = phrase(corps.erreur);
    zone.appendChild(p);
    return;
  }
  const titre = document.createElement("p");
  if (corps.etat === "valide") {
    const r = corps.resume;
    titre.className = "ok";
    titre.textContent = `Instance valide : ${r.nom} (${r.territoire}, ${r.annee}) — ${r.bailleurs} bailleur(s), ` +
      `${r.segments} segments, ${r.reservataires} réservataires, flux de ${nombre(r.flux_base, 1)} logements par an.`;
    $("calculer").disabled = false;
  } else {
    const erreurs = (corps.problemes || []).filter((p) => p.gravite === "error").length;
    titre.className = "message erreur";
    titre.textContent = `Le classeur contient ${erreurs} erreur(s) à corriger avant le calcul :`;
  }
  zone.appendChild(titre);
  if (corps.problemes && corps.problemes.length) {
    const div = document.createElement("div");
    afficherProblemes(div, corps.problemes);
    zone.appendChild(div);
  }
}

function choisir(f) {
  if (!f) return;
  fichier = f;
  $("nom-fichier").textContent = f.name;
  $("etape-resultat").hidden = true;
  valider().catch((e) => montrerErreur("Le serveur ne répond pas : " + e));
}

function montrerErreur(message) {
  $("erreur").textContent = message;
  $("erreur").hidden = false;
}

function surcharges() {
  const s = {};
  if ($("methode").value) s["equivalence.methode"] = $("methode").value;
  if ($("plafond-prefet").value !== "") s["plafonds.prefet"] = Number($("plafond-prefet").value) / 100;
  const mode = $("cible-mode").value;
  if (mode === "equivalence") s["prefet.cible"] = "equivalence";
  if (mode === "taux") s["prefet.cible"] = Number($("cible-taux").value) / 100;
  if ($("cil-strict").checked) s["cil.strict"] = true;
  return s;
}

async function calculer(evenement) {
  evenement.preventDefault();
  $("erreur").hidden = true;
  $("etape-resultat").hidden = true;
  $("calculer").disabled = true;
  const donnees = envoi();
  donnees.append("surcharges", JSON.stringify(surcharges()));
  if ($("temps-max").value) donnees.append("temps_max", $("temps-max").value);
  $("progression").hidden = false;
  montrerEtape("en_attente");
  try {
    const reponse = await fetch("/api/v1/travaux", {method: "POST", body: donnees, headers: entetes()});
    const corps = await lireReponse(reponse);
    if (reponse.status !== 202) throw new Error(phrase(corps.erreur) || "Le calcul n'a pas pu être lancé.");
    travail = corps.id;
    await suivre(travail);
  } catch (e) {
    montrerErreur(e.message);
  } finally {
    $("calculer").disabled = false;
  }
}

function montrerEtape(etape) {
  $("barre").value = RANG[etape] || 0;
  $("etape-texte").textContent = "Calcul : " + (ETAPES[etape] || etape) + "…";
}

async function suivre(id) {
  for (;;) {
    const reponse = await fetch("/api/v1/travaux/" + id, {headers: entetes()});
    const corps = await lireReponse(reponse);
    if (!reponse.ok) throw new Error(corps.erreur);
    if (corps.etat === "en_attente" || corps.etat === "en_cours") {
      montrerEtape(corps.etape || corps.etat);
      await new Promise((r) => setTimeout(r, 300));
      continue;
    }
    $("progression").hidden = true;
    if (corps.etat === "termine") {
      afficherResultat(corps.resultat);
      return;
    }
    if (corps.problemes) {
      afficherProblemes($("validation"), corps.problemes);
      throw new Error("L'instance contient des erreurs (voir le tableau ci-dessus).");
    }
    throw new Error("Le calcul a échoué : " + (corps.message || corps.etat));
  }
}

function graphique(bailleurs) {
  const zone = $("graphique");
  zone.replaceChildren();
  const types = Object.keys(TYPES).filter((t) => bailleurs.some((b) => (b[t + "_pct"] || 0) > 0));
  const legende = document.createElement("p");
  legende.className = "legende";
  for (const t of types) {
    const s = document.createElement("span");
    const i = document.createElement("i");
    i.style.background = COULEURS[t];
    s.append(i, TYPES[t]);
    legende.appendChild(s);
  }
  zone.appendChild(legende);
  for (const b of bailleurs.slice(0, 60)) {
    const ligne = document.createElement("div");
    ligne.className = "ligne";
    const nom = document.createElement("span");
    nom.className = "nom";
    nom.textContent = b.bailleur;
    const barre = document.createElement("div");
    barre.className = "barre";
    for (const t of types) {
      const part = b[t + "_pct"] || 0;
      if (part <= 0) continue;
      const s = document.createElement("span");
      s.style.width = part + "%";
      s.style.background = COULEURS[t];
      s.title = `${TYPES[t]} : ${nombre(part, 1)} %`;
      barre.appendChild(s);
    }
    ligne.append(nom, barre);
    zone.appendChild(ligne);
  }
}

function afficherResultat(r) {
  $("etape-resultat").hidden = false;
  $("statut").textContent = STATUTS[r.statut] || r.statut;
  $("statut").className = r.statut === "optimal" ? "ok" : "message erreur";
  const bailleurs = r.syntheses.bailleurs.map((b) => ({...b, propre_pct: b.propre_pct}));
  graphique(bailleurs);
  const types = Object.keys(TYPES).filter((t) => t !== "propre" && bailleurs.some((b) => (t + "_pct") in b));
  $("table-bailleurs").replaceChildren(tableau([
    ["Bailleur", (b) => b.nom || b.bailleur],
    ["Flux annuel (logements)", (b) => nombre(b.flux_base, 1), true],
    ...types.map((t) => [TYPES[t] + " (%)", (b) => nombre(b[t + "_pct"], 1), true]),
    ["Part propre (%)", (b) => nombre(b.propre_pct, 1), true],
    ["Part propre (logements entiers)", (b) => texte(b.propre_arrondi), true],
  ], bailleurs));
  $("table-reservataires").replaceChildren(tableau([
    ["Réservataire", (x) => x.reservataire],
    ["Type", (x) => TYPES[x.type] || x.type],
    ["Bailleurs", (x) => texte(x.bailleurs), true],
    ["Cible (logements/an)", (x) => nombre(x.cible, 2), true],
    ["Proposé (logements/an)", (x) => nombre(x.logements, 2), true],
    ["Logements entiers", (x) => texte(x.logements_arrondis), true],
    ["Écart (%)", (x) => (x.ecart_relatif === null ? "" : nombre(100 * x.ecart_relatif, 1)), true],
  ], r.syntheses.reservataires));
  const liste = document.createElement("ul");
  for (const e of r.explications.elements) {
    const li = document.createElement("li");
    if (e.code === "ecart_equivalence") {
      li.textContent = `${e.reservataire} chez ${e.bailleur} : ${nombre(e.logements, 2)} logements par an au lieu de ` +
        `${nombre(e.cible, 2)} (${nombre(e.ecart, 2)}). ` + e.raisons.join(" ; ");
    } else if (e.code === "deficit_cil") {
      li.textContent = `Objectif CIL non atteint dans l'EPCI ${e.epci} (${e.objectif}) : ${nombre(e.atteint, 2)} sur ` +
        `${nombre(e.requis, 2)}. ` + e.raisons.join(" ; ");
    } else {
      li.textContent = e.texte || (e.raisons || []).join(" ; ");
    }
    liste.appendChild(li);
  }
  $("explications").replaceChildren(r.explications.elements.length ? liste
    : document.createTextNode("Chaque réservataire reçoit l'équivalent de ses droits en stock : rien à expliquer."));
  if (r.avertissements.length) afficherProblemes($("avertissements"), r.avertissements);
  else $("avertissements").replaceChildren(document.createTextNode("Aucun."));
}

async function telecharger(nom, adresse, zoneMessage) {
  const reponse = await fetch(adresse, {headers: entetes()});
  if (!reponse.ok) {
    const corps = await lireReponse(reponse);
    zoneMessage.textContent = phrase(corps.erreur);
    zoneMessage.hidden = false;
    return;
  }
  zoneMessage.hidden = true;
  const lien = document.createElement("a");
  lien.href = URL.createObjectURL(await reponse.blob());
  lien.download = nom;
  document.body.appendChild(lien);
  lien.click();
  lien.remove();
}

$("fichier").addEventListener("change", (e) => choisir(e.target.files[0]));
const depot = $("depot");
depot.addEventListener("dragover", (e) => { e.preventDefault(); depot.classList.add("survol"); });
depot.addEventListener("dragleave", () => depot.classList.remove("survol"));
depot.addEventListener("drop", (e) => {
  e.preventDefault();
  depot.classList.remove("survol");
  choisir(e.dataTransfer.files[0]);
});
$("cible-mode").addEventListener("change", () => { $("cible-taux-champ").hidden = $("cible-mode").value !== "taux"; });
$("parametres").addEventListener("submit", calculer);
$("lien-modele").addEventListener("click", (e) => {
  e.preventDefault();
  telecharger("modele.xlsx", "/api/v1/modele.xlsx", $("message-modele"));
});
for (const bouton of document.querySelectorAll(".telecharger")) {
  bouton.addEventListener("click", () => telecharger(bouton.dataset.document,
    `/api/v1/travaux/${travail}/${bouton.dataset.document}`, $("message-telechargement")));
}
